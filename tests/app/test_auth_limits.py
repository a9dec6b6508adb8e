"""Bounded sign-in: rate limits per client and per account (429 + Retry-After), unknown emails
costing what known ones cost, and 200 parallel sign-ins against a real backend process held to
its manifest's memory limit (512 MiB) in a memory cgroup, all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from conftest import SECRET, Process, free_port, sign_up
from fastapi.testclient import TestClient

BACKEND_MEMORY_LIMIT = 512 * 1024 * 1024  # src/deploy/values.rs: backend limits.memory 512Mi


def app_with(make_settings, **env):
    from app.main import create_app

    return TestClient(create_app(make_settings(**env)))


def sign_in(c, email, password="correct horse", client_ip=None):
    headers = {"X-Forwarded-For": client_ip} if client_ip else {}
    return c.post("/api/auth/sign-in", json={"email": email, "password": password}, headers=headers)


def test_sign_in_is_limited_per_client_with_retry_after(make_settings):
    with app_with(make_settings, AUTH_RATE_PER_CLIENT="5/60") as c:
        answers = [sign_in(c, f"nobody{i}@example.com", client_ip="10.0.0.1").status_code for i in range(6)]
        assert answers == [401] * 5 + [429]
        limited = sign_in(c, "someone@example.com", client_ip="10.0.0.1")
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert "try again" in limited.json()["detail"]
        # another address still gets through, and sign-up counts against the same limit
        assert sign_in(c, "someone@example.com", client_ip="10.0.0.2").status_code == 401
        blocked = c.post("/api/auth/sign-up", json={"email": "new@example.com", "password": "correct horse"},
                         headers={"X-Forwarded-For": "10.0.0.1"})
        assert blocked.status_code == 429


def test_sign_in_is_limited_per_account_known_or_unknown(make_settings):
    with app_with(make_settings, AUTH_RATE_PER_ACCOUNT="3/60") as c:
        ghost = "ghost@example.com"
        known = sign_up(c)["user"]["email"]
        # one attempt each before: the sign-up of the account that exists, a sign-in for the other
        sign_in(c, ghost, "wrong password", client_ip="10.1.0.9")
        for email in (known, ghost):
            answers = [sign_in(c, email, "wrong password", client_ip=f"10.1.0.{i}").status_code for i in range(3)]
            # the same answers for an account that exists and one that does not
            assert answers == [401, 401, 429], email
            assert int(sign_in(c, email, client_ip="10.1.1.1").headers["Retry-After"]) >= 1
        assert sign_in(c, "other@example.com", client_ip="10.1.1.2").status_code == 401


def test_a_client_cannot_dodge_the_limit_with_its_own_forwarded_for(make_settings):
    with app_with(make_settings, AUTH_RATE_PER_CLIENT="3/60") as c:
        # the proxy appends the address it saw; what the client wrote sits further left
        answers = [sign_in(c, f"x{i}@example.com", client_ip=f"6.6.6.{i}, 10.2.0.1").status_code for i in range(4)]
        assert answers == [401, 401, 401, 429]


def test_unknown_emails_cost_the_same_time_as_known_ones(make_settings):
    with app_with(make_settings) as c:
        known = sign_up(c)["user"]["email"]

        def timed(email):
            start = time.perf_counter()
            assert sign_in(c, email, "wrong password", client_ip=str(uuid.uuid4())).status_code == 401
            return time.perf_counter() - start

        known_t = statistics.median(timed(known) for _ in range(5))
        unknown_t = statistics.median(timed(f"{uuid.uuid4().hex}@example.com") for _ in range(5))
        assert 0.6 < unknown_t / known_t < 1.6, (known_t, unknown_t)


def test_hash_concurrency_follows_the_memory_limit(tmp_path):
    from app.throttle import cgroup_memory_limit, hash_concurrency

    assert hash_concurrency(512 * 1024 * 1024) == 4
    assert hash_concurrency(128 * 1024 * 1024) == 1
    assert hash_concurrency(None, cpus=2) == 4
    (tmp_path / "memory" / "pod").mkdir(parents=True)
    (tmp_path / "memory" / "pod" / "memory.limit_in_bytes").write_text("536870912\n")
    (tmp_path / "self").write_text("4:memory:/pod\n0::/\n")
    assert cgroup_memory_limit(str(tmp_path / "self"), str(tmp_path)) == 512 * 1024 * 1024
    (tmp_path / "pod2").mkdir()
    (tmp_path / "pod2" / "memory.max").write_text("max\n")
    (tmp_path / "self").write_text("0::/pod2\n")
    assert cgroup_memory_limit(str(tmp_path / "self"), str(tmp_path)) is None


# --------------------------------------------------------------------------- under load, memory-capped
class MemoryCgroup:
    """A memory cgroup (v1 or v2) of its own, for one process and its children."""

    def __init__(self, limit: int):
        name = f"todo-app-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        v1 = Path("/sys/fs/cgroup/memory")
        if v1.is_dir():
            self.dir, self.v2 = v1 / name, False
        else:
            self.dir, self.v2 = Path("/sys/fs/cgroup") / name, True
        try:
            self.dir.mkdir()
            self._write("memory.max" if self.v2 else "memory.limit_in_bytes", str(limit))
            if not self.v2 and (self.dir / "memory.memsw.limit_in_bytes").exists():
                self._write("memory.memsw.limit_in_bytes", str(limit))  # no swapping around the limit
        except OSError as err:
            self.remove()
            pytest.skip(f"cannot make a memory cgroup here ({err}); scripts/test-app.sh runs this as root")

    def _write(self, name: str, value: str) -> None:
        (self.dir / name).write_text(value)

    def _read(self, name: str) -> str:
        return (self.dir / name).read_text()

    def wrap(self, args: list[str]) -> list[str]:
        """The command, started inside this cgroup (so its start-up memory counts too)."""
        return ["/bin/sh", "-c", f'echo $$ > "{self.dir}/cgroup.procs" && exec "$@"', "sh", *args]

    def peak(self) -> int:
        return int(self._read("memory.peak" if self.v2 else "memory.max_usage_in_bytes"))

    def oom_kills(self) -> int:
        text = self._read("memory.events" if self.v2 else "memory.oom_control")
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def remove(self) -> None:
        for _ in range(50):
            try:
                self.dir.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)


async def flood(base: str, email: str, parallel: int) -> tuple[list[int], list[float], list[int]]:
    """`parallel` sign-ins at once while /health and GET /api/tasks are polled; their answers."""
    limits = httpx.Limits(max_connections=parallel + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as c:
        token = (await c.post("/api/auth/sign-in", json={"email": email, "password": "correct horse"})).json()["token"]
        done = asyncio.Event()
        health_times: list[float] = []
        task_answers: list[int] = []

        async def poll():
            while not done.is_set():
                start = time.perf_counter()
                assert (await c.get("/health")).status_code == 200
                health_times.append(time.perf_counter() - start)
                resp = await c.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})
                task_answers.append(resp.status_code)
                await asyncio.sleep(0.05)

        async def one(i):
            resp = await c.post("/api/auth/sign-in",
                                json={"email": email, "password": "correct horse" if i % 2 else "wrong one"})
            return resp.status_code

        poller = asyncio.create_task(poll())
        answers = await asyncio.gather(*(one(i) for i in range(parallel)))
        done.set()
        await poller
        return list(answers), health_times, task_answers


def test_200_parallel_sign_ins_stay_within_the_memory_limit(database_url):
    cgroup = MemoryCgroup(BACKEND_MEMORY_LIMIT)
    port = free_port()
    server = None
    try:
        server = Process(cgroup.wrap([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
                                      "--port", str(port)]),
                         {"DATABASE_URL": database_url, "BETTER_AUTH_SECRET": SECRET, "OPENAI_API_KEY": "",
                          "MCP_SERVER_URL": "", "AGENT_URL": "", "REDIS_URL": "",
                          # the rate limits off: this measures the hash limit alone
                          "AUTH_RATE_PER_CLIENT": "100000/60", "AUTH_RATE_PER_ACCOUNT": "100000/60"}, port)
        base = f"http://127.0.0.1:{port}"
        email = f"{uuid.uuid4().hex[:8]}@example.com"
        assert httpx.post(f"{base}/api/auth/sign-up",
                          json={"email": email, "password": "correct horse"}).status_code == 201
        started = time.monotonic()
        answers, health_times, task_answers = asyncio.run(flood(base, email, 200))
        took = time.monotonic() - started
        peak = cgroup.peak()
        print(f"200 parallel sign-ins in {took:.1f}s: peak {peak / 2**20:.0f} MiB of "
              f"{BACKEND_MEMORY_LIMIT / 2**20:.0f} MiB; answers {({a: answers.count(a) for a in set(answers)})}; "
              f"/health max {max(health_times) * 1000:.0f} ms over {len(health_times)} polls")
        assert server.proc.poll() is None, "the backend died:\n" + server.output()
        assert cgroup.oom_kills() == 0
        assert peak < BACKEND_MEMORY_LIMIT * 0.8, f"peak {peak / 2**20:.0f} MiB"
        # every sign-in got an answer: done (200/401) or told to come back (429 + Retry-After)
        assert set(answers) <= {200, 401, 429}, answers
        assert answers.count(200) + answers.count(401) >= 50
        assert health_times and max(health_times) < 2.0
        assert task_answers and set(task_answers) == {200}
    finally:
        if server is not None:
            server.stop()
        cgroup.remove()
