"""The MCP server through the SDK's real client: streamable HTTP (its own process) and stdio (a subprocess)."""

from __future__ import annotations

import json
import os
import sys
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
from conftest import BACKEND_DIR, SECRET, jwks_json
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

TOOLS = {"add_task", "list_tasks", "complete_task", "delete_task", "update_task"}


def make_user(database_url: str, email: str) -> str:
    """A user row and its token, made the way sign-up makes them."""
    from app.auth import SigningKey, hash_password
    from app.config import database_url_for_sqlalchemy
    from app.db import Base, User, make_engine
    from sqlalchemy.orm import Session

    engine = make_engine(database_url_for_sqlalchemy(database_url))
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        user = User(email=email, password_hash=hash_password("whatever pw"))
        session.add(user)
        session.commit()
        token = SigningKey(SECRET).tool_token(user.id)
    engine.dispose()
    return token


@asynccontextmanager
async def http_session(url: str):
    async with streamable_http_client(url) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


@asynccontextmanager
async def stdio_session(database_url: str):
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "app.mcp_server", "--stdio"], cwd=str(BACKEND_DIR),
        env={**{k: v for k, v in os.environ.items() if k != "BETTER_AUTH_SECRET"}, "DATABASE_URL": database_url,
             "AUTH_JWKS": jwks_json()})
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


async def call(session: ClientSession, tool: str, **args):
    result = await session.call_tool(tool, args)
    text = " ".join(c.text for c in result.content if c.type == "text")
    if result.isError:
        return {"error": text}
    return result.structuredContent if result.structuredContent is not None else json.loads(text)


async def exercise_tools(session: ClientSession, alice: str, bob: str) -> None:
    listed = await session.list_tools()
    assert {t.name for t in listed.tools} == TOOLS
    for tool in listed.tools:
        assert "user_token" in tool.inputSchema["required"], tool.name
    # the bounds are in the schemas the model is shown, and enforced on the way in
    add_schema = next(t for t in listed.tools if t.name == "add_task").inputSchema["properties"]
    assert add_schema["title"]["maxLength"] == 500
    assert any(v.get("maxLength") == 5000 for v in add_schema["description"]["anyOf"])
    too_long = await call(session, "add_task", user_token=alice, title="t", description="d" * 5001)
    assert "description" in too_long["error"] and "5000" in too_long["error"]
    too_long = await call(session, "update_task", user_token=alice, task_id=1, title="t" * 501)
    assert "title" in too_long["error"]

    milk = await call(session, "add_task", user_token=alice, title="buy milk", description="oat")
    assert (milk["title"], milk["description"], milk["completed"]) == ("buy milk", "oat", False)
    mum = await call(session, "add_task", user_token=alice, title="call mum")
    assert [t["title"] for t in (await call(session, "list_tasks", user_token=alice))["tasks"]] == [
        "buy milk", "call mum"]

    done = await call(session, "complete_task", user_token=alice, task_id=milk["id"])
    assert done["completed"] is True
    pending = await call(session, "list_tasks", user_token=alice, status="pending")
    assert [t["id"] for t in pending["tasks"]] == [mum["id"]]
    completed = await call(session, "list_tasks", user_token=alice, status="completed")
    assert [t["id"] for t in completed["tasks"]] == [milk["id"]]

    renamed = await call(session, "update_task", user_token=alice, task_id=mum["id"], title="call mum today")
    assert renamed["title"] == "call mum today" and renamed["completed"] is False

    # another user sees nothing of alice's and can change none of it
    assert (await call(session, "list_tasks", user_token=bob))["tasks"] == []
    for tool, args in [("complete_task", {}), ("delete_task", {}), ("update_task", {"title": "hijacked"})]:
        refused = await call(session, tool, user_token=bob, task_id=mum["id"], **args)
        assert f"task {mum['id']} not found" in refused["error"], (tool, refused)
    forged = await call(session, "list_tasks", user_token="not-a-token")
    assert "not signed in" in forged["error"]
    empty = await call(session, "add_task", user_token=alice, title="   ")
    assert "non-empty title" in empty["error"]

    gone = await call(session, "delete_task", user_token=alice, task_id=milk["id"])
    assert gone["id"] == milk["id"]
    left = (await call(session, "list_tasks", user_token=alice))["tasks"]
    assert [(t["id"], t["title"]) for t in left] == [(mum["id"], "call mum today")]


@pytest.mark.parametrize("transport", ["streamable-http", "stdio"])
def test_tools(transport, database_url, request):
    alice, bob = make_user(database_url, "a@example.com"), make_user(database_url, "b@example.com")
    if transport == "stdio":
        session = stdio_session(database_url)
    else:
        url = request.getfixturevalue("mcp_http_server")
        assert httpx.get(url.replace("/mcp", "/health")).status_code == 200
        session = http_session(url)

    async def main():
        async with session as s:
            await exercise_tools(s, alice, bob)

    anyio.run(main)


def test_mcp_server_holds_no_secret_and_takes_only_turn_tokens(database_url, mcp_http_server):
    """The server runs without BETTER_AUTH_SECRET (the fixture gives it only the public JWKS) and
    accepts only the backend's short-lived todo-mcp tokens: not the browser's session token, not
    tokens signed with the secret itself (the old HS256 ones), another key, or expired ones."""
    from datetime import timedelta

    import jwt
    from app.auth import MCP_AUDIENCE, SigningKey

    key = SigningKey(SECRET)
    good = make_user(database_url, "c@example.com")
    user_id = jwt.decode(good, options={"verify_signature": False})["sub"]
    refused = {
        "session token": key.session_token(int(user_id)),
        "HS256 with the secret": jwt.encode({"sub": user_id, "exp": 4102444800, "iss": "todo-backend",
                                             "aud": MCP_AUDIENCE}, SECRET, algorithm="HS256"),
        "another key, same kid": jwt.encode({"sub": user_id, "exp": 4102444800, "iss": "todo-backend",
                                             "aud": MCP_AUDIENCE}, SigningKey("y" * 40)._key, algorithm="EdDSA",
                                            headers={"kid": key.kid}),
        "expired": key.sign(int(user_id), MCP_AUDIENCE, timedelta(seconds=-60)),
    }

    async def main():
        async with http_session(mcp_http_server) as s:
            assert (await call(s, "list_tasks", user_token=good)) == {"tasks": []}
            for what, token in refused.items():
                assert "not signed in" in (await call(s, "list_tasks", user_token=token))["error"], what

    anyio.run(main)
