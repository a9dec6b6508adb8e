"""Fast chat: one MCP client session per process, reused by every turn (one stdio subprocess, one
initialize against the HTTP server), reopened after a failure; and a deadline per chat turn."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import SECRET, Process, jwks_json, bearer, free_port, sign_up
from fastapi.testclient import TestClient


def mcp_children() -> list[int]:
    """This process's children running the stdio MCP server."""
    me, found = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == me and b"app.mcp_server" in cmdline:
            found.append(int(stat.parent.name))
    return found


def chat(c, h, message):
    resp = c.post("/api/chat", json={"message": message}, headers=h)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_one_stdio_mcp_process_serves_every_turn(make_settings):
    from app.main import create_app

    with TestClient(create_app(make_settings(MCP_SERVER_URL="", MCP_TRANSPORT="stdio"))) as c:
        h = bearer(sign_up(c)["token"])
        assert mcp_children() == []  # started on first use
        chat(c, h, "add buy milk")
        first = mcp_children()
        assert len(first) == 1
        for message in ("add call mum", "what's on my list", "complete 1"):
            chat(c, h, message)
            assert mcp_children() == first
        assert "call mum" in chat(c, h, "list")["reply"]

        # the subprocess dies: that turn fails, the next one gets a new subprocess
        os.kill(first[0], signal.SIGKILL)
        os.waitpid(first[0], os.WNOHANG)
        assert c.post("/api/chat", json={"message": "list"}, headers=h).status_code in (200, 502)
        assert "buy milk" in chat(c, h, "list")["reply"]
        second = mcp_children()
        assert len(second) == 1 and second != first
    deadline = time.monotonic() + 10
    while mcp_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert mcp_children() == [], "the MCP subprocess outlived the app"


def test_one_http_mcp_session_serves_every_turn(make_settings, database_url):
    from app.main import create_app

    port = free_port()
    mcp = Process([sys.executable, "-m", "app.mcp_server"],
                  {"DATABASE_URL": database_url, "AUTH_JWKS": jwks_json(), "BETTER_AUTH_SECRET": "", "PORT": str(port),
                   "MCP_TRANSPORT": "", "MCP_SERVER_URL": ""}, port)
    try:
        with TestClient(create_app(make_settings(MCP_SERVER_URL=f"http://127.0.0.1:{port}/mcp"))) as c:
            h = bearer(sign_up(c)["token"])
            for message in ("add buy milk", "add call mum", "what's on my list", "complete 1", "list"):
                chat(c, h, message)
            assert c.app.state.tool_server.opened == 1
        log = mcp.output()
        # a session starts with the `initialized` notification (answered 202): once, then only tool calls
        assert log.count('"POST /mcp HTTP/1.1" 202') == 1, log[-2000:]
        assert log.count("CallToolRequest") >= 5
    finally:
        mcp.stop()


class SlowChatCompletions:
    """A chat-completions endpoint that takes `delay` seconds to answer."""

    def __init__(self, delay: float):
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay)
                raw = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": "late"}}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def slow_llm():
    fake = SlowChatCompletions(delay=4)
    yield fake
    fake.close()


def test_a_chat_turn_past_its_deadline_answers_504_in_time(make_settings, slow_llm):
    from app.main import create_app

    settings = make_settings(OPENAI_API_KEY="sk-test", LLM_BASE_URL=slow_llm.url, LLM_MODEL="m", CHAT_TURN_SECONDS="1")
    with TestClient(create_app(settings)) as c:
        h = bearer(sign_up(c)["token"])
        start = time.monotonic()
        resp = c.post("/api/chat", json={"message": "add milk"}, headers=h)
        took = time.monotonic() - start
        assert resp.status_code == 504, resp.text
        assert took < 2.5, took
        assert "longer than 1s" in resp.json()["detail"] and resp.json()["request_id"] in resp.json()["detail"]
        # the user's message is kept; the turn has no made-up answer
        conv = c.get("/api/conversations", headers=h).json()[0]
        msgs = c.get(f"/api/conversations/{conv['id']}/messages", headers=h).json()
        assert [m["role"] for m in msgs] == ["user"]


def test_chat_turn_seconds_is_checked():
    from app.config import ConfigError, load_settings

    base = {"DATABASE_URL": "postgresql://u@h/d", "BETTER_AUTH_SECRET": SECRET}
    assert load_settings(base).chat_turn_seconds == 30
    assert load_settings({**base, "CHAT_TURN_SECONDS": "5"}).chat_turn_seconds == 5
    with pytest.raises(ConfigError, match="CHAT_TURN_SECONDS"):
        load_settings({**base, "CHAT_TURN_SECONDS": "soon"})


def test_many_chats_at_once_share_the_pool_without_running_dry(make_settings):
    # the pool holds 10 connections; each turn used to keep one for its whole length and need a second
    from concurrent.futures import ThreadPoolExecutor

    from app.main import create_app

    with TestClient(create_app(make_settings(MCP_SERVER_URL="", MCP_TRANSPORT="stdio", CHAT_TURN_SECONDS="20"))) as c:
        users = [bearer(sign_up(c)["token"]) for _ in range(16)]
        chat(c, users[0], "hello")

        def turns(h):
            return [c.post("/api/chat", json={"message": m}, headers=h).status_code
                    for m in ("add a", "list", "complete the first one", "list")]

        start = time.monotonic()
        with ThreadPoolExecutor(len(users)) as pool:
            answers = [s for result in pool.map(turns, users) for s in result]
        assert answers == [200] * len(answers)
        assert time.monotonic() - start < 15
