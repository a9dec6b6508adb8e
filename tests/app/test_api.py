"""The REST contract: auth, tasks per user, conversations, health and readiness."""

from __future__ import annotations

import jwt
import pytest
from conftest import SECRET, Postgres, bearer, sign_up
from fastapi.testclient import TestClient


def test_sign_up_returns_token_and_user(client):
    body = sign_up(client, email="Ada@Example.com", name="Ada")
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["name"] == "Ada"
    assert isinstance(body["user"]["id"], int)
    claims = jwt.decode(body["token"], options={"verify_signature": False})  # test_scoped_keys checks the signature
    assert claims["sub"] == str(body["user"]["id"])
    me = client.get("/api/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.json() == body["user"]


def test_sign_up_without_name_gives_null(client):
    resp = client.post("/api/auth/sign-up", json={"email": "n@example.com", "password": "long enough"})
    assert resp.status_code == 201
    assert resp.json()["user"]["name"] is None


def test_duplicate_email_is_409(client):
    sign_up(client, email="dup@example.com")
    resp = client.post("/api/auth/sign-up", json={"email": "DUP@example.com", "password": "another one"})
    assert resp.status_code == 409


@pytest.mark.parametrize("body", [
    {"email": "not-an-email", "password": "long enough"},
    {"email": "a@example.com", "password": "short"},
    {"password": "long enough"},
    {"email": "a@example.com"},
])
def test_bad_sign_up_is_422(client, body):
    assert client.post("/api/auth/sign-up", json=body).status_code == 422


def test_sign_in(client):
    user = sign_up(client, email="in@example.com", password="pa55word!")["user"]
    ok = client.post("/api/auth/sign-in", json={"email": "in@example.com", "password": "pa55word!"})
    assert ok.status_code == 200
    assert ok.json()["user"] == user
    assert client.get("/api/me", headers=bearer(ok.json()["token"])).json()["id"] == user["id"]
    wrong = client.post("/api/auth/sign-in", json={"email": "in@example.com", "password": "pa55word?"})
    assert wrong.status_code == 401
    nobody = client.post("/api/auth/sign-in", json={"email": "no@example.com", "password": "pa55word!"})
    assert nobody.status_code == 401


def test_password_is_stored_hashed(client, database_url):
    import psycopg

    sign_up(client, email="hash@example.com", password="plain text pw")
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT password_hash FROM users WHERE email='hash@example.com'").fetchone()[0]
    assert "plain text pw" not in stored
    assert stored.startswith("scrypt$")


@pytest.mark.parametrize("path", ["/api/me", "/api/tasks", "/api/conversations"])
def test_api_needs_a_valid_token(client, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer("garbage")).status_code == 401
    forged = jwt.encode({"sub": "1", "exp": 4102444800, "iss": "todo-backend"}, "another-secret-0123456789-0123456789",
                        algorithm="HS256")
    assert client.get(path, headers=bearer(forged)).status_code == 401
    expired = jwt.encode({"sub": "1", "exp": 1000, "iss": "todo-backend"}, SECRET, algorithm="HS256")
    assert client.get(path, headers=bearer(expired)).status_code == 401
    from datetime import timedelta

    from app.auth import SigningKey

    really_expired = SigningKey(SECRET).sign(1, "todo-api", timedelta(seconds=-60))
    assert client.get(path, headers=bearer(really_expired)).status_code == 401


def test_tasks_crud(client):
    h = bearer(sign_up(client)["token"])
    assert client.get("/api/tasks", headers=h).json() == []
    created = client.post("/api/tasks", json={"title": "buy milk", "description": "2 litres"}, headers=h)
    assert created.status_code == 201
    task = created.json()
    assert set(task) == {"id", "title", "description", "completed", "created_at", "updated_at"}
    assert (task["title"], task["description"], task["completed"]) == ("buy milk", "2 litres", False)
    second = client.post("/api/tasks", json={"title": "call mum"}, headers=h).json()
    assert second["description"] is None
    assert [t["title"] for t in client.get("/api/tasks", headers=h).json()] == ["buy milk", "call mum"]

    patched = client.patch(f"/api/tasks/{task['id']}", json={"completed": True}, headers=h)
    assert patched.status_code == 200
    assert patched.json()["completed"] is True
    assert patched.json()["title"] == "buy milk"
    renamed = client.patch(f"/api/tasks/{task['id']}", json={"title": "buy oat milk", "description": ""},
                           headers=h).json()
    assert (renamed["title"], renamed["description"], renamed["completed"]) == ("buy oat milk", None, True)

    assert client.delete(f"/api/tasks/{second['id']}", headers=h).status_code == 204
    listed = client.get("/api/tasks", headers=h).json()
    assert [(t["id"], t["title"], t["completed"]) for t in listed] == [(task["id"], "buy oat milk", True)]
    assert client.delete(f"/api/tasks/{second['id']}", headers=h).status_code == 404


@pytest.mark.parametrize("body", [{"title": ""}, {"description": "no title"}, {"title": "x" * 501}])
def test_bad_task_is_422(client, body):
    h = bearer(sign_up(client)["token"])
    assert client.post("/api/tasks", json=body, headers=h).status_code == 422


@pytest.mark.parametrize("method, path, body, field", [
    ("post", "/api/tasks", {"title": "t", "description": "d" * 5001}, "description"),
    ("post", "/api/tasks", {"title": "x" * 501}, "title"),
    ("patch", "/api/tasks/1", {"description": "d" * 5001}, "description"),
    ("patch", "/api/tasks/99999999999", {"completed": True}, "task_id"),
    ("delete", "/api/tasks/99999999999", None, "task_id"),
    ("post", "/api/chat", {"message": "m" * 4001}, "message"),
    ("post", "/api/chat", {"message": "hi", "conversation_id": 99999999999}, "conversation_id"),
    ("post", "/api/auth/sign-in", {"email": "a@example.com", "password": "p" * 100_000}, "password"),
    ("post", "/api/auth/sign-in", {"email": "e" * 10_000 + "@example.com", "password": "pw"}, "email"),
])
def test_oversized_input_is_a_422_naming_the_field(client, method, path, body, field):
    h = bearer(sign_up(client)["token"])
    resp = client.request(method.upper(), path, json=body, headers=h)
    assert resp.status_code == 422, resp.text
    assert [e["loc"][-1] for e in resp.json()["detail"]] == [field]


def test_tasks_are_scoped_to_their_user(client):
    alice = bearer(sign_up(client)["token"])
    bob = bearer(sign_up(client)["token"])
    task = client.post("/api/tasks", json={"title": "alice's secret"}, headers=alice).json()
    assert client.get("/api/tasks", headers=bob).json() == []
    assert client.patch(f"/api/tasks/{task['id']}", json={"completed": True}, headers=bob).status_code == 404
    assert client.delete(f"/api/tasks/{task['id']}", headers=bob).status_code == 404
    # untouched for its owner
    assert client.get("/api/tasks", headers=alice).json()[0]["completed"] is False


def test_conversations_survive_a_new_app_instance(make_settings):
    from app.main import create_app

    with TestClient(create_app(make_settings())) as first:
        h = bearer(sign_up(first, email="keep@example.com")["token"])
        one = first.post("/api/chat", json={"message": "add buy milk"}, headers=h).json()
        first.post("/api/chat", json={"message": "what's on my list", "conversation_id": one["conversation_id"]},
                   headers=h)
    # a restarted pod: a new engine, a new app, the same database
    with TestClient(create_app(make_settings())) as second:
        h2 = bearer(second.post("/api/auth/sign-in", json={"email": "keep@example.com",
                                                           "password": "correct horse"}).json()["token"])
        convs = second.get("/api/conversations", headers=h2).json()
        assert [c["id"] for c in convs] == [one["conversation_id"]]
        assert convs[0]["title"] == "add buy milk"
        msgs = second.get(f"/api/conversations/{one['conversation_id']}/messages", headers=h2).json()
        assert [(m["role"], m["content"]) for m in msgs][:3] == [
            ("user", "add buy milk"), ("assistant", one["reply"]), ("user", "what's on my list")]
        assert msgs[3]["role"] == "assistant" and "buy milk" in msgs[3]["content"]
        assert msgs[1]["tool_calls"][0]["tool"] == "add_task"
        assert [t["title"] for t in second.get("/api/tasks", headers=h2).json()] == ["buy milk"]


def test_conversations_are_scoped_to_their_user(client):
    alice = bearer(sign_up(client)["token"])
    bob = bearer(sign_up(client)["token"])
    conv = client.post("/api/chat", json={"message": "hello"}, headers=alice).json()["conversation_id"]
    assert client.get("/api/conversations", headers=bob).json() == []
    assert client.get(f"/api/conversations/{conv}/messages", headers=bob).status_code == 404
    resp = client.post("/api/chat", json={"message": "hi", "conversation_id": conv}, headers=bob)
    assert resp.status_code == 404


def test_health_needs_no_database_and_ready_follows_it(make_settings):
    from app.config import load_settings
    from app.main import create_app

    pg = Postgres().start()
    try:
        settings = load_settings({"DATABASE_URL": pg.url(scheme="postgres"), "BETTER_AUTH_SECRET": SECRET})
        with TestClient(create_app(settings)) as c:
            assert c.get("/ready").status_code == 200
            pg.stop()
            assert c.get("/health").status_code == 200
            down = c.get("/ready")
            assert down.status_code == 503
            assert down.json()["database"] == "unreachable"
            pg.start()
            assert c.get("/ready").status_code == 200
    finally:
        pg.stop()
        pg.remove()


def test_missing_secret_is_a_clear_error():
    from app.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="BETTER_AUTH_SECRET not set"):
        load_settings({"DATABASE_URL": "postgresql://u@h/d"})
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_settings({"DATABASE_URL": "mysql://u@h/d", "BETTER_AUTH_SECRET": SECRET})


@pytest.mark.parametrize("given, expected", [
    ("postgres://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
    ("postgresql://u:p@h/d?sslmode=require", "postgresql+psycopg://u:p@h/d?sslmode=require"),
    ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
    # seed 002's Neon form, and asyncpg's own spelling of the TLS mode
    ("postgresql+asyncpg://u:p@ep-x.neon.tech/neondb?sslmode=require",
     "postgresql+psycopg://u:p@ep-x.neon.tech/neondb?sslmode=require"),
    ("postgresql+asyncpg://u:p@h/d?ssl=require", "postgresql+psycopg://u:p@h/d?sslmode=require"),
    ("postgresql://u:p@ep-x.neon.tech/neondb?sslmode=require&channel_binding=require",
     "postgresql+psycopg://u:p@ep-x.neon.tech/neondb?sslmode=require&channel_binding=require"),
    (' "postgresql://u@h/d" ', "postgresql+psycopg://u@h/d"),
])
def test_database_urls_map_to_psycopg(given, expected):
    from app.config import database_url_for_sqlalchemy

    assert database_url_for_sqlalchemy(given) == expected


def test_frontend_nginx_files_match_todo_devs_template():
    # the app ships its own copy (a user's project must build without todo-dev); keep them the same
    from conftest import BACKEND_DIR

    embedded = BACKEND_DIR.parents[1]
    for name in ("nginx-entrypoint.sh", "nginx.conf.template"):
        app_copy = (embedded / "app" / "frontend" / "nginx" / name).read_text()
        # lines marked app-only are the app's browser hardening (security-headers.conf, hashed assets)
        shared = "".join(line for line in app_copy.splitlines(keepends=True) if not line.rstrip().endswith("# app-only"))
        assert shared == (embedded / "dockerfiles" / "_nginx" / name).read_text(), name


def test_api_health_answers_through_the_api_prefix(client):
    # seed 002 checks `curl http://todo-app.local/api/health`: the ingress and the frontend pass /api/ on
    resp = client.get("/api/health")
    assert resp.status_code == 200 and resp.json() == {"status": "ok"}


@pytest.fixture()
def tls_postgres(tmp_path):
    """A Postgres that speaks TLS (a self-signed certificate made with openssl), as Neon does."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificate")
    pg = Postgres()
    key, cert = pg.dir / "server.key", pg.dir / "server.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    key.chmod(0o600)
    if pg.as_user:
        import os
        import pwd

        uid = pwd.getpwnam(pg.as_user).pw_uid
        os.chown(key, uid, -1)
        os.chown(cert, uid, -1)
    pg.extra_options = f"-c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key}"
    pg.start()
    yield pg
    pg.stop()
    pg.remove()


@pytest.mark.parametrize("scheme", ["postgresql+asyncpg", "postgres"])
def test_a_neon_style_url_with_sslmode_require_connects_over_tls(tls_postgres, scheme):
    from app.config import load_settings
    from app.main import create_app
    from sqlalchemy import text

    url = tls_postgres.url(scheme=scheme) + "?sslmode=require"
    with TestClient(create_app(load_settings({"DATABASE_URL": url, "BETTER_AUTH_SECRET": SECRET}))) as c:
        assert sign_up(c)["user"]["id"] >= 1
        with c.app.state.engine.connect() as conn:
            assert conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar() is True


@pytest.mark.parametrize("env, provider, key, base_url, model", [
    ({}, "openai", None, "https://api.openai.com/v1", "gpt-4o-mini"),
    ({"OPENAI_API_KEY": "sk-o"}, "openai", "sk-o", "https://api.openai.com/v1", "gpt-4o-mini"),
    ({"LLM_PROVIDER": "groq", "GROQ_API_KEY": "gsk"}, "groq", "gsk", "https://api.groq.com/openai/v1",
     "llama-3.3-70b-versatile"),
    # seed 001: LLM_PROVIDER="" (auto-detect) with GROQ_API_KEY and GROQ_MODEL
    ({"LLM_PROVIDER": "", "GROQ_API_KEY": "gsk", "GROQ_MODEL": "meta-llama/llama-4-scout-17b-16e-instruct"},
     "groq", "gsk", "https://api.groq.com/openai/v1", "meta-llama/llama-4-scout-17b-16e-instruct"),
    # seed 002: GEMINI_API_KEY
    ({"GEMINI_API_KEY": "gem"}, "gemini", "gem", "https://generativelanguage.googleapis.com/v1beta/openai",
     "gemini-2.0-flash"),
    ({"LLM_PROVIDER": "OpenRouter", "OPENROUTER_API_KEY": "or", "OPENAI_API_KEY": "sk-o"}, "openrouter", "or",
     "https://openrouter.ai/api/v1", "openai/gpt-4o-mini"),
    ({"LLM_PROVIDER": "openai", "OPENAI_API_KEY": "sk-o", "LLM_BASE_URL": "http://127.0.0.1:9/v1/", "LLM_MODEL": "m"},
     "openai", "sk-o", "http://127.0.0.1:9/v1", "m"),
])
def test_llm_provider_picks_its_key_and_base_url(env, provider, key, base_url, model):
    from app.config import load_settings

    s = load_settings({"DATABASE_URL": "postgresql://u@h/d", "BETTER_AUTH_SECRET": SECRET, **env})
    assert (s.llm_provider, s.llm_api_key, s.llm_base_url, s.llm_model) == (provider, key, base_url, model)


@pytest.mark.parametrize("env, message", [
    ({"LLM_PROVIDER": "groq"}, "LLM_PROVIDER=groq needs GROQ_API_KEY"),
    ({"LLM_PROVIDER": "gemini", "OPENAI_API_KEY": "sk"}, "needs GEMINI_API_KEY"),
    ({"LLM_PROVIDER": "claude"}, "use one of openai, groq, gemini, openrouter"),
])
def test_llm_provider_mistakes_are_clear_errors(env, message):
    from app.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=message):
        load_settings({"DATABASE_URL": "postgresql://u@h/d", "BETTER_AUTH_SECRET": SECRET, **env})
