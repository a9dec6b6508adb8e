"""The chat agent: the offline agent on a table of requests, the OpenAI-compatible tool-calling
loop against a local fake chat-completions server, the ai-agent service, and the Redis cache."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from conftest import SECRET, Process, jwks_json, bearer, free_port, sign_up
from fastapi.testclient import TestClient

SEED = ["buy milk", "call mum", "walk the dog"]

# (message, extra tasks, tools called in order, expected (title, completed) list, words in the reply)
# {milk}, {mum}, {dog} stand for the ids of the seeded tasks.
OFFLINE_CASES = [
    ("add pay rent", [], ["add_task"],
     [("buy milk", False), ("call mum", False), ("walk the dog", False), ("pay rent", False)], 'Added "pay rent"'),
    ("Please add a task to Water the plants.", [], ["add_task"],
     [("buy milk", False), ("call mum", False), ("walk the dog", False), ("Water the plants", False)],
     'Added "Water the plants"'),
    ("remind me to book the dentist", [], ["add_task"],
     [("buy milk", False), ("call mum", False), ("walk the dog", False), ("book the dentist", False)],
     "book the dentist"),
    ("add 'call the bank' to my list", [], ["add_task"],
     [("buy milk", False), ("call mum", False), ("walk the dog", False), ("call the bank", False)],
     'Added "call the bank"'),
    ("what's on my list?", [], ["list_tasks"],
     [("buy milk", False), ("call mum", False), ("walk the dog", False)], "You have 3 tasks"),
    ("show my pending tasks", [], ["list_tasks"],
     [("buy milk", False), ("call mum", False), ("walk the dog", False)], "3 pending tasks"),
    ("complete {milk}", [], ["complete_task"],
     [("buy milk", True), ("call mum", False), ("walk the dog", False)], 'Marked task {milk} "buy milk" as done'),
    ("mark the milk task as done", [], ["list_tasks", "complete_task"],
     [("buy milk", True), ("call mum", False), ("walk the dog", False)], '"buy milk" as done'),
    ("I finished walk the dog", [], ["list_tasks", "complete_task"],
     [("buy milk", False), ("call mum", False), ("walk the dog", True)], '"walk the dog" as done'),
    ("set task {milk} as complete", [], ["complete_task"],
     [("buy milk", True), ("call mum", False), ("walk the dog", False)], '"buy milk" as done'),
    ("I'm done with the dog", [], ["list_tasks", "complete_task"],
     [("buy milk", False), ("call mum", False), ("walk the dog", True)], '"walk the dog" as done'),
    ("{mum} is done", [], ["complete_task"],
     [("buy milk", False), ("call mum", True), ("walk the dog", False)], '"call mum" as done'),
    ("delete the milk task", [], ["list_tasks", "delete_task"],
     [("call mum", False), ("walk the dog", False)], 'Deleted task {milk} "buy milk"'),
    ("remove task #{dog} from my list", [], ["delete_task"],
     [("buy milk", False), ("call mum", False)], '"walk the dog"'),
    ("rename {mum} to call mum tonight", [], ["update_task"],
     [("buy milk", False), ("call mum tonight", False), ("walk the dog", False)],
     'Renamed task {mum} to "call mum tonight"'),
    ("change the dog task to Walk the dog twice", [], ["list_tasks", "update_task"],
     [("buy milk", False), ("call mum", False), ("Walk the dog twice", False)], '"Walk the dog twice"'),
    ("complete 999999", [], ["complete_task"],
     [("buy milk", False), ("call mum", False), ("walk the dog", False)], "couldn't find task 999999"),
    ("delete the unicorn task", [], ["list_tasks"],
     [("buy milk", False), ("call mum", False), ("walk the dog", False)], 'matching "unicorn"'),
    ("complete buy", ["buy bread"], ["list_tasks"],
     [("buy milk", False), ("call mum", False), ("walk the dog", False), ("buy bread", False)],
     "More than one task matches"),
    ("reopen {milk}", [], ["update_task"],
     [("buy milk", False), ("call mum", False), ("walk the dog", False)], '"buy milk" is open again'),
    ("hello", [], [], [("buy milk", False), ("call mum", False), ("walk the dog", False)], "add buy milk"),
    ("sing me a song", [], [], [("buy milk", False), ("call mum", False), ("walk the dog", False)],
     "didn't understand"),
]


@pytest.fixture(scope="module")
def http_mcp_client(postgres):
    """The backend talking MCP over streamable HTTP to its own server process (profiles full/agents);
    shared by the table's rows, each of which signs up a new user."""
    from app.config import load_settings
    from app.main import create_app

    database_url = postgres.create_database("t_" + uuid.uuid4().hex[:12])
    port = free_port()
    mcp = Process([sys.executable, "-m", "app.mcp_server"],
                  {"DATABASE_URL": database_url, "AUTH_JWKS": jwks_json(), "BETTER_AUTH_SECRET": "", "PORT": str(port),
                   "MCP_TRANSPORT": "", "MCP_SERVER_URL": ""}, port)
    settings = load_settings({"DATABASE_URL": database_url, "BETTER_AUTH_SECRET": SECRET,
                              "MCP_SERVER_URL": f"http://127.0.0.1:{port}/mcp"})
    try:
        with TestClient(create_app(settings)) as c:
            yield c
    finally:
        mcp.stop()


@pytest.mark.parametrize("message, extra, tools, expected, reply", OFFLINE_CASES,
                         ids=[c[0] for c in OFFLINE_CASES])
def test_offline_agent(http_mcp_client, message, extra, tools, expected, reply):
    c = http_mcp_client
    h = bearer(sign_up(c)["token"])
    ids = {}
    for key, title in zip(["milk", "mum", "dog"], SEED, strict=True):
        ids[key] = c.post("/api/tasks", json={"title": title}, headers=h).json()["id"]
    for title in extra:
        c.post("/api/tasks", json={"title": title}, headers=h)
    resp = c.post("/api/chat", json={"message": message.format(**ids)}, headers=h)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [call["tool"] for call in body["tool_calls"]] == tools
    for call in body["tool_calls"]:
        assert "user_token" not in call["arguments"]
    state = [(t["title"], t["completed"]) for t in c.get("/api/tasks", headers=h).json()]
    assert state == expected
    assert reply.format(**ids) in body["reply"]


# --------------------------------------------------------------------------- OpenAI-compatible path
class FakeChatCompletions:
    """A chat-completions endpoint that asks for add_task once, then answers with text; it rejects
    requests a real API would reject (wrong key, no tools, malformed messages)."""

    API_KEY = "sk-test-fake-key"

    def __init__(self):
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                status, answer = fake.answer(self.path, self.headers.get("Authorization"), body)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path, auth, body):
        if path != "/v1/chat/completions":
            return 404, {"error": {"message": f"no route {path}"}}
        if auth != f"Bearer {self.API_KEY}":
            return 401, {"error": {"message": "Incorrect API key provided"}}
        if body.get("model") != "fake-model" or not isinstance(body.get("messages"), list):
            return 400, {"error": {"message": "model and messages are required"}}
        for tool in body.get("tools", []):
            if tool.get("type") != "function" or "name" not in tool.get("function", {}):
                return 400, {"error": {"message": "malformed tool"}}
        messages = body["messages"]
        if messages[-1]["role"] == "tool":
            result = json.loads(messages[-1]["content"])
            return 200, self.completion({"role": "assistant", "content": f"Added {result['title']} for you."})
        return 200, self.completion({"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "add_task", "arguments": json.dumps({"title": "buy milk"})}}]})

    @staticmethod
    def completion(message):
        return {"id": "chatcmpl-1", "object": "chat.completion", "model": "fake-model",
                "choices": [{"index": 0, "message": message,
                             "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}]}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def fake_llm():
    fake = FakeChatCompletions()
    yield fake
    fake.close()


def test_llm_agent_runs_the_tool_calls_the_model_makes(make_settings, fake_llm):
    from app.main import create_app

    settings = make_settings(OPENAI_API_KEY=fake_llm.API_KEY, LLM_BASE_URL=fake_llm.url, LLM_MODEL="fake-model")
    with TestClient(create_app(settings)) as c:
        h = bearer(sign_up(c)["token"])
        resp = c.post("/api/chat", json={"message": "I need milk"}, headers=h)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["reply"] == "Added buy milk for you."
        assert [(t["tool"], t["arguments"]) for t in body["tool_calls"]] == [("add_task", {"title": "buy milk"})]
        assert body["tool_calls"][0]["result"]["title"] == "buy milk"
        assert [t["title"] for t in c.get("/api/tasks", headers=h).json()] == ["buy milk"]

    first, second = (r["body"] for r in fake_llm.requests)
    names = {t["function"]["name"] for t in first["tools"]}
    assert names == {"add_task", "list_tasks", "complete_task", "delete_task", "update_task"}
    for tool in first["tools"]:
        # the user's token is filled in by the agent, never shown to the model
        assert "user_token" not in tool["function"]["parameters"]["properties"]
        assert "user_token" not in tool["function"]["parameters"].get("required", [])
    assert first["messages"][-1] == {"role": "user", "content": "I need milk"}
    assert second["messages"][-2]["tool_calls"][0]["id"] == "call_1"
    assert second["messages"][-1]["tool_call_id"] == "call_1"


@pytest.mark.parametrize("provider, key_var", [("groq", "GROQ_API_KEY"), ("gemini", "GEMINI_API_KEY"),
                                                ("openrouter", "OPENROUTER_API_KEY")])
def test_llm_provider_sends_its_own_key(make_settings, fake_llm, provider, key_var):
    from app.main import create_app

    settings = make_settings(LLM_PROVIDER=provider, **{key_var: fake_llm.API_KEY}, OPENAI_API_KEY="sk-not-this-one",
                             LLM_BASE_URL=fake_llm.url, LLM_MODEL="fake-model")
    with TestClient(create_app(settings)) as c:
        h = bearer(sign_up(c)["token"])
        resp = c.post("/api/chat", json={"message": "I need milk"}, headers=h)
        assert resp.status_code == 200, resp.text
        assert resp.json()["reply"] == "Added buy milk for you."
    assert {r["auth"] for r in fake_llm.requests} == {f"Bearer {fake_llm.API_KEY}"}


def test_upstream_failures_answer_a_request_id_and_keep_the_details_in_the_log(make_settings, fake_llm, caplog):
    from app.main import create_app

    settings = make_settings(OPENAI_API_KEY="sk-wrong", LLM_BASE_URL=fake_llm.url, LLM_MODEL="fake-model")
    with TestClient(create_app(settings)) as c:
        h = bearer(sign_up(c)["token"])
        resp = c.post("/api/chat", json={"message": "add milk"}, headers=h)
        assert resp.status_code == 502
        body = resp.json()
        rid = body["request_id"]
        assert resp.headers["X-Request-ID"] == rid
        assert rid in body["detail"] and "try again" in body["detail"]
        # nothing from upstream: not its URL, its status, its error text, nor the key
        for leak in (fake_llm.url, "127.0.0.1", "answered 401", "Incorrect API key", "sk-wrong", "LLM"):
            assert leak not in resp.text, leak
        logged = [r.getMessage() for r in caplog.records if rid in r.getMessage()]
        assert logged and "answered 401" in logged[0] and "Incorrect API key" in logged[0]
        assert "sk-wrong" not in caplog.text
        # an id the caller brings (the proxy's) is kept, so both logs line up
        again = c.post("/api/chat", json={"message": "add milk"}, headers={**h, "X-Request-ID": "edge-1234abcd"})
        assert again.json()["request_id"] == "edge-1234abcd"


# --------------------------------------------------------------------------- ai-agent service
def test_backend_forwards_chat_to_the_agent_service(make_settings, database_url, mcp_http_server):
    from app.main import create_app

    port = free_port()
    agent = Process([sys.executable, "-m", "app.agent_service"],
                    {"DATABASE_URL": database_url, "AUTH_JWKS": jwks_json(), "BETTER_AUTH_SECRET": "", "PORT": str(port),
                     "MCP_SERVER_URL": mcp_http_server, "OPENAI_API_KEY": "", "AGENT_URL": ""}, port)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/ready").status_code == 200
        unauthenticated = httpx.post(f"http://127.0.0.1:{port}/chat", json={"message": "add x"})
        assert unauthenticated.status_code == 401
        with TestClient(create_app(make_settings(AGENT_URL=f"http://127.0.0.1:{port}"))) as c:
            h = bearer(sign_up(c)["token"])
            first = c.post("/api/chat", json={"message": "add buy milk"}, headers=h).json()
            assert first["tool_calls"][0]["tool"] == "add_task"
            second = c.post("/api/chat", json={"message": "what's on my list",
                                               "conversation_id": first["conversation_id"]}, headers=h).json()
            assert "buy milk" in second["reply"]
            msgs = c.get(f"/api/conversations/{first['conversation_id']}/messages", headers=h).json()
            assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    finally:
        agent.stop()
    # agent gone: the backend says so instead of hanging or pretending
    with TestClient(create_app(make_settings(AGENT_URL=f"http://127.0.0.1:{port}"))) as c:
        h = bearer(sign_up(c)["token"])
        resp = c.post("/api/chat", json={"message": "add buy milk"}, headers=h)
        assert resp.status_code == 502
        assert f"127.0.0.1:{port}" not in resp.text and resp.json()["request_id"] in resp.json()["detail"]


# --------------------------------------------------------------------------- Redis cache
@pytest.fixture()
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server not installed (scripts/test-app.sh installs it)")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            import time

            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0", client, proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def test_task_list_is_cached_in_redis_and_invalidated_on_writes(make_settings, redis_url):
    from app.main import create_app

    url, redis_client, proc = redis_url
    with TestClient(create_app(make_settings(REDIS_URL=url))) as c:
        user = sign_up(c)
        h = bearer(user["token"])
        key = f"todo:tasks:{user['user']['id']}"
        c.post("/api/tasks", json={"title": "buy milk"}, headers=h)
        assert redis_client.get(key) is None
        assert [t["title"] for t in c.get("/api/tasks", headers=h).json()] == ["buy milk"]
        assert [t["title"] for t in json.loads(redis_client.get(key))] == ["buy milk"]
        # served from the cache: a value only Redis holds comes back
        redis_client.set(key, json.dumps([{"id": 0, "title": "from cache"}]))
        assert c.get("/api/tasks", headers=h).json()[0]["title"] == "from cache"
        c.post("/api/tasks", json={"title": "call mum"}, headers=h)
        assert redis_client.get(key) is None
        assert [t["title"] for t in c.get("/api/tasks", headers=h).json()] == ["buy milk", "call mum"]
        # the chat writes through the MCP server: the backend drops its cached list too
        c.post("/api/chat", json={"message": "add walk the dog"}, headers=h)
        assert redis_client.get(key) is None
        assert len(c.get("/api/tasks", headers=h).json()) == 3
        # Redis gone: the app keeps working from the database
        proc.terminate()
        proc.wait(10)
        assert c.post("/api/tasks", json={"title": "still works"}, headers=h).status_code == 201
        assert len(c.get("/api/tasks", headers=h).json()) == 4


def test_mcp_transport_stdio_wins_over_a_server_url_and_a_dead_server_is_a_502(make_settings):
    from app.main import create_app

    dead = f"http://127.0.0.1:{free_port()}/mcp"
    with TestClient(create_app(make_settings(MCP_SERVER_URL=dead, MCP_TRANSPORT="stdio"))) as c:
        h = bearer(sign_up(c)["token"])
        ok = c.post("/api/chat", json={"message": "add buy milk"}, headers=h)
        assert ok.status_code == 200, ok.text
        assert ok.json()["tool_calls"][0]["result"]["title"] == "buy milk"
    with TestClient(create_app(make_settings(MCP_SERVER_URL=dead))) as c:
        h = bearer(sign_up(c)["token"])
        down = c.post("/api/chat", json={"message": "add buy milk"}, headers=h)
        assert down.status_code == 502
        assert dead not in down.text and "mcp" not in down.text.lower()
        assert down.json()["request_id"]
        # the user's message is kept; the failed turn has no made-up answer
        conv = c.get("/api/conversations", headers=h).json()[0]
        msgs = c.get(f"/api/conversations/{conv['id']}/messages", headers=h).json()
        assert [(m["role"], m["content"]) for m in msgs] == [("user", "add buy milk")]
