"""Scoped keys: only the backend holds BETTER_AUTH_SECRET. It signs EdDSA (Ed25519) JWTs and
publishes the public key at /api/auth/jwks; for each chat turn it gives the ai-agent and the MCP
server a token of their own (minutes, their audiences), which they verify with that public key,
fetched over HTTP, without the secret."""

from __future__ import annotations

import base64
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
from conftest import SECRET, Process, bearer, free_port, sign_up
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient


def public_key(jwks: dict, kid: str) -> Ed25519PublicKey:
    jwk = next(k for k in jwks["keys"] if k["kid"] == kid)
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4)))


def test_session_tokens_are_eddsa_and_checkable_with_the_published_key(client):
    token = sign_up(client)["token"]
    jwks = client.get("/api/auth/jwks").json()
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    claims = jwt.decode(token, public_key(jwks, header["kid"]), algorithms=["EdDSA"], audience="todo-api",
                        issuer="todo-backend")
    assert claims["exp"] - claims["iat"] == 7 * 24 * 3600
    # the JWKS has no private part, and the secret does not check the token
    assert all(set(k) == {"kty", "crv", "x", "kid", "alg", "use"} for k in jwks["keys"])
    assert SECRET not in json.dumps(jwks)
    try:
        jwt.decode(token, SECRET, algorithms=["HS256"], audience="todo-api")
        raise AssertionError("a token checkable with the shared secret")
    except jwt.PyJWTError:
        pass


class RecordingAgent:
    """Stands in for the ai-agent: records what the backend sends it and answers a plain reply."""

    def __init__(self):
        self.authorizations: list[str] = []
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                agent.authorizations.append(self.headers.get("Authorization", ""))
                raw = json.dumps({"reply": "ok", "tool_calls": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_agent_gets_a_turn_token_not_the_session_token(make_settings):
    from app.main import create_app

    agent = RecordingAgent()
    try:
        with TestClient(create_app(make_settings(AGENT_URL=agent.url))) as c:
            session_token = sign_up(c)["token"]
            assert c.post("/api/chat", json={"message": "hi"}, headers=bearer(session_token)).status_code == 200
            jwks = c.get("/api/auth/jwks").json()
            sent = agent.authorizations[0].removeprefix("Bearer ")
            assert sent != session_token
            header = jwt.get_unverified_header(sent)
            claims = jwt.decode(sent, public_key(jwks, header["kid"]), algorithms=["EdDSA"], audience="todo-mcp")
            assert set(claims["aud"]) == {"todo-agent", "todo-mcp"}
            assert claims["exp"] - claims["iat"] <= 300
            assert claims["sub"] == jwt.decode(session_token, options={"verify_signature": False})["sub"]
            # the turn token is no session: the API refuses it
            assert c.get("/api/me", headers=bearer(sent)).status_code == 401
    finally:
        agent.server.shutdown()


def test_mcp_server_and_agent_verify_through_the_jwks_url_without_the_secret(database_url):
    """backend -> ai-agent -> mcp-server as three processes; only the backend has the secret."""
    mport, aport, bport = free_port(), free_port(), free_port()
    jwks_url = f"http://127.0.0.1:{bport}/api/auth/jwks"
    no_secret = {"BETTER_AUTH_SECRET": "", "AUTH_JWKS": "", "AUTH_JWKS_URL": jwks_url, "DATABASE_URL": database_url,
                 "OPENAI_API_KEY": "", "AGENT_URL": ""}
    started = []
    try:
        started.append(Process([sys.executable, "-m", "app.mcp_server"],
                               {**no_secret, "PORT": str(mport), "MCP_TRANSPORT": "", "MCP_SERVER_URL": ""}, mport))
        started.append(Process([sys.executable, "-m", "app.agent_service"],
                               {**no_secret, "PORT": str(aport), "MCP_SERVER_URL": f"http://127.0.0.1:{mport}/mcp"},
                               aport))
        started.append(Process([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port",
                                str(bport)],
                               {"DATABASE_URL": database_url, "BETTER_AUTH_SECRET": SECRET, "OPENAI_API_KEY": "",
                                "AGENT_URL": f"http://127.0.0.1:{aport}", "MCP_SERVER_URL": "", "REDIS_URL": ""},
                               bport))
        base = f"http://127.0.0.1:{bport}"
        token = httpx.post(f"{base}/api/auth/sign-up",
                           json={"email": "k@example.com", "password": "correct horse"}).json()["token"]
        resp = httpx.post(f"{base}/api/chat", json={"message": "add buy milk"}, headers=bearer(token), timeout=30)
        assert resp.status_code == 200, resp.text + started[0].output()[-1500:] + started[1].output()[-1500:]
        assert resp.json()["tool_calls"][0]["result"]["title"] == "buy milk"
        assert [t["title"] for t in httpx.get(f"{base}/api/tasks", headers=bearer(token)).json()] == ["buy milk"]
        # the agent refuses the browser's session token: it is for the API only
        direct = httpx.post(f"http://127.0.0.1:{aport}/chat", json={"message": "list"}, headers=bearer(token))
        assert direct.status_code == 401
    finally:
        for p in reversed(started):
            p.stop()


def test_the_stdio_subprocess_gets_public_keys_only(make_settings, monkeypatch):
    from app import agent
    from app.config import load_settings

    seen = {}
    real = agent.StdioServerParameters

    def record(**kwargs):
        seen.update(kwargs["env"])
        return real(**kwargs)

    monkeypatch.setattr(agent, "StdioServerParameters", record)
    monkeypatch.setenv("BETTER_AUTH_SECRET", SECRET)
    from app.main import create_app

    with TestClient(create_app(make_settings(MCP_SERVER_URL="", MCP_TRANSPORT="stdio"))) as c:
        h = bearer(sign_up(c)["token"])
        assert c.post("/api/chat", json={"message": "add buy milk"}, headers=h).status_code == 200
    assert "BETTER_AUTH_SECRET" not in seen and SECRET not in json.dumps(seen)
    assert json.loads(seen["AUTH_JWKS"])["keys"][0]["kty"] == "OKP"
    assert load_settings(seen, signs_tokens=False).jwks == json.loads(seen["AUTH_JWKS"])
