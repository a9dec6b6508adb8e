"""A per-user task-list cache in Redis when REDIS_URL is set; without it (or when Redis fails) a no-op."""

from __future__ import annotations

import json
import logging

log = logging.getLogger("todo.cache")
TTL_SECONDS = 60  # a safety net: every write through this backend invalidates at once


class TaskListCache:
    def __init__(self, redis_url: str | None):
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)

    @property
    def enabled(self) -> bool:
        return self._redis is not None

    @staticmethod
    def _key(user_id: int) -> str:
        return f"todo:tasks:{user_id}"

    def get(self, user_id: int) -> list[dict] | None:
        if self._redis is None:
            return None
        try:
            raw = self._redis.get(self._key(user_id))
        except Exception as err:  # the database stays the truth: a cache outage only costs speed
            log.warning("redis get failed, reading the database: %s", err)
            return None
        return None if raw is None else json.loads(raw)

    def put(self, user_id: int, tasks: list[dict]) -> None:
        if self._redis is None:
            return
        try:
            self._redis.set(self._key(user_id), json.dumps(tasks), ex=TTL_SECONDS)
        except Exception as err:
            log.warning("redis set failed: %s", err)

    def invalidate(self, user_id: int) -> None:
        if self._redis is None:
            return
        try:
            self._redis.delete(self._key(user_id))
        except Exception as err:
            log.warning("redis delete failed (entry expires in %ss): %s", TTL_SECONDS, err)
