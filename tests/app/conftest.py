"""Fixtures for the reference app's tests: a real Postgres (initdb into a temp dir), app instances,
and helpers to start the MCP server and fakes on free 127.0.0.1 ports.

Run by scripts/test-app.sh; by hand: `pytest tests/app` with the app's requirements installed
and Postgres server binaries on PATH or in /usr/lib/postgresql/*/bin.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

BACKEND_DIR = Path(__file__).resolve().parents[2] / "embedded" / "app" / "backend"
sys.path.insert(0, str(BACKEND_DIR))

SECRET = "test-secret-" + "x" * 24


def jwks_json() -> str:
    """The backend's public keys for SECRET, as mcp-server and ai-agent are given them (AUTH_JWKS)."""
    import json

    from app.auth import SigningKey

    return json.dumps(SigningKey(SECRET).jwks())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"{name} not found: install PostgreSQL server binaries (Debian: postgresql)")
    return found


class Postgres:
    """A throwaway Postgres cluster on 127.0.0.1; as root it runs as `nobody` (postgres refuses root)."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="todo-app-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_user = "nobody" if os.geteuid() == 0 else None
        self.extra_options = ""
        if self.as_user:
            os.chown(self.dir, pwd.getpwnam(self.as_user).pw_uid, -1)

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_user:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=self.dir)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")

    def start(self) -> Postgres:
        if not self.data.exists():
            self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "todo", "--auth=trust", "-E", "UTF8")
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-o",
                  f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories='' "
                  f"-c fsync=off {self.extra_options}", "start")
        return self

    def stop(self) -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, db: str = "postgres", scheme: str = "postgresql") -> str:
        return f"{scheme}://todo@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    pg = Postgres().start()
    yield pg
    pg.stop()
    pg.remove()


@pytest.fixture()
def database_url(postgres) -> str:
    """A fresh, empty database for one test."""
    return postgres.create_database("t_" + uuid.uuid4().hex[:12])


@pytest.fixture()
def make_settings(database_url):
    from app.config import load_settings

    def make(**env: str):
        base = {"DATABASE_URL": database_url, "BETTER_AUTH_SECRET": SECRET}
        base.update(env)
        return load_settings({k: v for k, v in base.items() if v is not None})

    return make


@pytest.fixture()
def client(make_settings):
    from app.main import create_app
    from fastapi.testclient import TestClient

    with TestClient(create_app(make_settings())) as c:
        yield c


def sign_up(client, email: str | None = None, password: str = "correct horse", name: str | None = "Ada") -> dict:
    email = email or f"{uuid.uuid4().hex[:8]}@example.com"
    resp = client.post("/api/auth/sign-up", json={"email": email, "password": password, "name": name})
    assert resp.status_code == 201, resp.text
    return resp.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Process:
    """A child process serving HTTP on 127.0.0.1:port, with its output kept for failure messages."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, health: str = "/health"):
        self.port = port
        self.log = tempfile.NamedTemporaryFile(prefix="todo-app-proc-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(args, env={**os.environ, **env}, cwd=BACKEND_DIR,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{args} exited {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}{health}", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{args} did not answer {health} within 60s:\n{self.output()}")
            time.sleep(0.2)

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        Path(self.log.name).unlink(missing_ok=True)


@pytest.fixture()
def mcp_http_server(database_url):
    """The MCP server as its own process (python -m app.mcp_server) on a free port."""
    port = free_port()
    server = Process([sys.executable, "-m", "app.mcp_server"],
                     {"DATABASE_URL": database_url, "AUTH_JWKS": jwks_json(), "BETTER_AUTH_SECRET": "",
                      "PORT": str(port),
                      "MCP_TRANSPORT": "", "MCP_SERVER_URL": ""}, port)
    yield f"http://127.0.0.1:{port}/mcp"
    server.stop()
