"""Bounds on sign-in and sign-up: a password-hash concurrency limit sized to the pod's memory, and
sliding-window rate limits per client address and per account (email)."""

from __future__ import annotations

import math
import os
import time
from collections import OrderedDict, deque
from pathlib import Path

import anyio

# one scrypt hash (n=2**14, r=8) needs 16 MiB; with the thread and buffers around it, count 32
HASH_MEMORY = 32 * 1024 * 1024
UNLIMITED = 1 << 60


class TooManyRequests(Exception):
    """Over a rate limit, or the hash queue is full: answer 429 with Retry-After."""

    def __init__(self, what: str, retry_after: int):
        super().__init__(what)
        self.retry_after = max(1, retry_after)


def cgroup_memory_limit(proc_cgroup: str = "/proc/self/cgroup", root: str = "/sys/fs/cgroup") -> int | None:
    """This process's memory limit in bytes (cgroup v2 memory.max or v1 memory.limit_in_bytes), None if unlimited."""
    try:
        lines = Path(proc_cgroup).read_text().splitlines()
    except OSError:
        return None
    candidates: list[Path] = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if controllers == "":
            candidates += [Path(root, rel, "memory.max"), Path(root, "memory.max")]
        elif "memory" in controllers.split(","):
            candidates += [Path(root, "memory", rel, "memory.limit_in_bytes"),
                           Path(root, "memory", "memory.limit_in_bytes")]
    for file in candidates:
        try:
            text = file.read_text().strip()
        except OSError:
            continue
        if text == "max":
            return None
        value = int(text)
        # v1 says "unlimited" with a huge number
        return None if value >= UNLIMITED else value
    return None


def hash_concurrency(memory_limit: int | None, cpus: int | None = None) -> int:
    """Hashes at a time: a quarter of the memory limit in hashes (1..8); without a limit, 2 per CPU (2..8)."""
    if memory_limit is None:
        return max(2, min(8, 2 * (cpus or os.cpu_count() or 1)))
    return max(1, min(8, memory_limit // 4 // HASH_MEMORY))


class HashLimiter:
    """Runs password hashes in threads, at most `concurrency` at once. Waiting happens on the event
    loop (no thread held), at most `max_waiting` requests for at most `wait_seconds`, so a flood of
    sign-ins costs bounded memory and leaves the thread pool to the other requests."""

    def __init__(self, concurrency: int, max_waiting: int | None = None, wait_seconds: float = 10.0):
        self.concurrency = concurrency
        self.max_waiting = max_waiting if max_waiting is not None else 32 * concurrency
        self.wait_seconds = wait_seconds
        self._limiter: anyio.CapacityLimiter | None = None
        self._waiting = 0

    async def run(self, fn, *args):
        if self._limiter is None:  # made on first use: it belongs to the running event loop
            self._limiter = anyio.CapacityLimiter(self.concurrency)
        if self._waiting >= self.max_waiting:
            raise TooManyRequests("too many sign-ins at once", 2)
        self._waiting += 1
        try:
            with anyio.fail_after(self.wait_seconds):
                await self._limiter.acquire()
        except TimeoutError:
            raise TooManyRequests("too many sign-ins at once", 2) from None
        finally:
            self._waiting -= 1
        try:
            return await anyio.to_thread.run_sync(fn, *args)
        finally:
            self._limiter.release()


def parse_rate(text: str, name: str) -> tuple[int, float]:
    """'10/60' -> (10, 60.0): at most 10 attempts in any 60 seconds."""
    from .config import ConfigError

    count, sep, seconds = text.partition("/")
    try:
        parsed = int(count), float(seconds.rstrip("s"))
    except ValueError:
        parsed = (0, 0.0)
    if not sep or parsed[0] < 1 or parsed[1] <= 0:
        raise ConfigError(f"{name}={text}: give attempts/seconds, e.g. {name}=10/60")
    return parsed


class SlidingWindow:
    """At most `limit` hits per key in any `window` seconds; remembers at most `max_keys` keys
    (the longest idle ones are forgotten first), so its memory is bounded too."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000, clock=time.monotonic):
        self.limit, self.window, self.max_keys, self._clock = limit, window, max_keys, clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, key: str) -> int | None:
        """Count one attempt; None if allowed, else the seconds until the next one would be."""
        now = self._clock()
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        self._hits[key] = hits
        if len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        if len(hits) >= self.limit:
            return math.ceil(hits[0] + self.window - now)
        hits.append(now)
        return None


class AuthGuard:
    """The per-client and per-account limits on sign-in and sign-up."""

    def __init__(self, per_client: tuple[int, float], per_account: tuple[int, float]):
        self.clients = SlidingWindow(*per_client)
        self.accounts = SlidingWindow(*per_account)

    def admit(self, client: str, account: str) -> None:
        wait = self.clients.hit(client)
        if wait is not None:
            raise TooManyRequests("too many sign-in attempts from this address", wait)
        # unknown emails count the same as known ones: a 429 tells nothing about which exist
        wait = self.accounts.hit(account.strip().lower())
        if wait is not None:
            raise TooManyRequests("too many sign-in attempts for this account", wait)


def client_address(peer: str | None, forwarded_for: str | None, proxy_hops: int) -> str:
    """The caller's address: behind `proxy_hops` proxies (nginx, the ingress), the address the
    outermost of them saw, counted from the right of X-Forwarded-For (what a client sends itself
    sits further left and is ignored)."""
    if proxy_hops > 0 and forwarded_for:
        chain = [a.strip() for a in forwarded_for.split(",") if a.strip()]
        if chain:
            return chain[-min(proxy_hops, len(chain))]
    return peer or "unknown"
