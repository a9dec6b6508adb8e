"""The REST API: auth, tasks, conversations and the chat endpoint.

    uvicorn app.main:app --port 8000     (or: python -m app.main)
"""


import logging
import os
import secrets
import sys
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
import httpx
from fastapi import Depends, FastAPI, HTTPException, Path, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from . import request_ids
from . import tasks as task_ops
from .agent import AgentError, ToolServer, run_agent
from .auth import API_AUDIENCE, InvalidToken, SigningKey, TokenVerifier, hash_password, verify_password
from .cache import TaskListCache
from .config import ConfigError, Settings, load_settings
from .db import Conversation, Message, User, create_schema, make_engine, make_sessionmaker, ping, utcnow
from .throttle import AuthGuard, HashLimiter, TooManyRequests, cgroup_memory_limit, client_address, hash_concurrency

log = logging.getLogger("todo.backend")
HISTORY_MESSAGES = 20  # how much of a conversation the agent sees


# --------------------------------------------------------------------------- request bodies
def _email(value: str) -> str:
    value = value.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or " " in value or len(value) > 320:
        raise ValueError("not an email address")
    return value


class SignUp(BaseModel):
    email: str
    password: str = Field(min_length=8, max_length=200)
    name: str | None = Field(default=None, max_length=200)

    _check_email = field_validator("email")(_email)


class SignIn(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=200)


class TaskCreate(BaseModel):
    title: str = Field(min_length=1, max_length=task_ops.TITLE_MAX)
    description: str | None = Field(default=None, max_length=task_ops.DESCRIPTION_MAX)


class TaskPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=task_ops.TITLE_MAX)
    description: str | None = Field(default=None, max_length=task_ops.DESCRIPTION_MAX)
    completed: bool | None = None


# ids are Postgres integers: a bigger number is a 422 naming the field, not a database error
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=4000)
    conversation_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


def user_dict(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name}


# --------------------------------------------------------------------------- the app
def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    Session = make_sessionmaker(engine)
    cache = TaskListCache(settings.redis_url)
    signing_key = SigningKey(settings.auth_secret)
    sessions = TokenVerifier(API_AUDIENCE, jwks=signing_key.jwks())
    unknown_user_hash = hash_password(secrets.token_hex(16))
    hasher = HashLimiter(settings.hash_concurrency or hash_concurrency(cgroup_memory_limit()))
    guard = AuthGuard(settings.auth_rate_per_client, settings.auth_rate_per_account)
    tool_server = ToolServer(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await anyio.to_thread.run_sync(create_schema, engine)
        log.info("sign-in: %d password hashes at a time, %d/%gs per client, %d/%gs per account",
                 hasher.concurrency, *settings.auth_rate_per_client, *settings.auth_rate_per_account)
        log.info("schema ready; agent: %s; MCP: %s; cache: %s",
                 f"forwarded to {settings.agent_url}" if settings.agent_url
                 else (f"LLM {settings.llm_provider} {settings.llm_model}" if settings.llm_api_key else "offline"),
                 settings.mcp_server_url if settings.mcp_over_http else "stdio subprocess",
                 "redis" if cache.enabled else "off")
        async with tool_server.serve():
            yield
        engine.dispose()

    app = FastAPI(title="Todo chatbot API", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.tool_server = tool_server
    request_ids.install(app, log)

    @app.middleware("http")
    async def api_headers(request: Request, call_next):
        # JSON only: nothing to sniff, frame or refer; answers with tokens stay out of caches
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def db():
        with Session() as session:
            yield session

    def current_user(request: Request, session: Annotated[Any, Depends(db)]) -> User:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first (Authorization: Bearer <token>)",
                                headers={"WWW-Authenticate": "Bearer"})
        try:
            user_id = sessions.user_id(token.strip())
        except InvalidToken:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token",
                                headers={"WWW-Authenticate": "Bearer"}) from None
        user = session.get(User, user_id)
        # give the connection back now: a chat turn would hold it for its whole length, and enough
        # turns at once would leave none for their own writes (the pool's timeout, then a 500)
        session.close()
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the token's user no longer exists")
        return user

    CurrentUser = Annotated[User, Depends(current_user)]
    DB = Annotated[Any, Depends(db)]

    @app.exception_handler(TooManyRequests)
    async def too_many(_request: Request, err: TooManyRequests):
        return JSONResponse({"detail": f"{err}: try again in {err.retry_after}s"}, status_code=429,
                            headers={"Retry-After": str(err.retry_after)})

    @app.exception_handler(task_ops.TaskNotFound)
    async def task_not_found(_request: Request, err: task_ops.TaskNotFound):
        return JSONResponse({"detail": str(err)}, status_code=404)

    @app.exception_handler(task_ops.InvalidTask)
    async def invalid_task(_request: Request, err: task_ops.InvalidTask):
        return JSONResponse({"detail": str(err)}, status_code=422)

    # ----------------------------------------------------------------- health
    # /health for the probes; /api/health the same through the ingress or the frontend's /api/ proxy
    @app.get("/health")
    @app.get("/api/health")
    def health():
        return {"status": "ok"}

    @app.get("/ready")
    def ready():
        try:
            ping(engine)
        except SQLAlchemyError as err:
            log.warning("not ready: database ping failed: %s", err.__class__.__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return {"status": "ready", "database": "ok"}

    # ----------------------------------------------------------------- auth
    def admit(request: Request, email: str) -> None:
        peer = request.client.host if request.client else None
        guard.admit(client_address(peer, request.headers.get("x-forwarded-for"), settings.trusted_proxy_hops),
                    email)

    def add_user(email: str, name: str | None, password_hash: str) -> User | None:
        with Session() as session:
            user = User(email=email, name=name, password_hash=password_hash)
            session.add(user)
            try:
                session.commit()
            except IntegrityError:
                return None
            return user

    def find_user(email: str) -> User | None:
        with Session() as session:
            return session.scalar(select(User).where(User.email == email))

    # async, with the hashes in threads behind `hasher`: a flood of sign-ins waits on the event
    # loop instead of holding every worker thread, so /health and the task API keep answering
    @app.post("/api/auth/sign-up", status_code=201)
    async def sign_up(body: SignUp, request: Request):
        admit(request, body.email)
        password_hash = await hasher.run(hash_password, body.password)
        user = await anyio.to_thread.run_sync(add_user, body.email, (body.name or "").strip() or None, password_hash)
        if user is None:
            raise HTTPException(status.HTTP_409_CONFLICT, "an account with this email exists: sign in")
        return {"token": signing_key.session_token(user.id), "user": user_dict(user)}

    @app.post("/api/auth/sign-in")
    async def sign_in(body: SignIn, request: Request):
        email = body.email.strip().lower()
        admit(request, email)
        user = await anyio.to_thread.run_sync(find_user, email)
        # an unknown email costs one hash too, so timing does not tell which emails have accounts
        stored = user.password_hash if user is not None else unknown_user_hash
        if not await hasher.run(verify_password, body.password, stored) or user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
        return {"token": signing_key.session_token(user.id), "user": user_dict(user)}

    # the public key that mcp-server and ai-agent check tokens with (they never hold the secret)
    @app.get("/api/auth/jwks")
    def jwks():
        return signing_key.jwks()

    @app.get("/api/me")
    def me(user: CurrentUser):
        return user_dict(user)

    # ----------------------------------------------------------------- tasks
    @app.get("/api/tasks")
    def list_tasks(user: CurrentUser, session: DB):
        cached = cache.get(user.id)
        if cached is not None:
            return cached
        listed = task_ops.list_tasks(session, user.id)
        cache.put(user.id, listed)
        return listed

    @app.post("/api/tasks", status_code=201)
    def create_task(body: TaskCreate, user: CurrentUser, session: DB):
        created = task_ops.add_task(session, user.id, body.title, body.description)
        cache.invalidate(user.id)
        return created

    @app.patch("/api/tasks/{task_id}")
    def patch_task(task_id: RowId, body: TaskPatch, user: CurrentUser, session: DB):
        updated = task_ops.update_task(session, user.id, task_id, body.title, body.description, body.completed)
        cache.invalidate(user.id)
        return updated

    @app.delete("/api/tasks/{task_id}", status_code=204)
    def remove_task(task_id: RowId, user: CurrentUser, session: DB):
        task_ops.delete_task(session, user.id, task_id)
        cache.invalidate(user.id)
        return Response(status_code=204)

    # ----------------------------------------------------------------- conversations
    def owned_conversation(session, user_id: int, conversation_id: int) -> Conversation:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None or conversation.user_id != user_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"conversation {conversation_id} not found")
        return conversation

    def conversation_dict(c: Conversation) -> dict[str, Any]:
        return {"id": c.id, "title": c.title, "created_at": c.created_at.isoformat(),
                "updated_at": c.updated_at.isoformat()}

    def message_dict(m: Message) -> dict[str, Any]:
        return {"id": m.id, "role": m.role, "content": m.content, "tool_calls": m.tool_calls or [],
                "created_at": m.created_at.isoformat()}

    @app.get("/api/conversations")
    def list_conversations(user: CurrentUser, session: DB):
        rows = session.scalars(select(Conversation).where(Conversation.user_id == user.id)
                               .order_by(Conversation.updated_at.desc(), Conversation.id.desc()))
        return [conversation_dict(c) for c in rows]

    @app.get("/api/conversations/{conversation_id}/messages")
    def list_messages(conversation_id: RowId, user: CurrentUser, session: DB):
        owned_conversation(session, user.id, conversation_id)
        rows = session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                               .order_by(Message.id))
        return [message_dict(m) for m in rows]

    def start_turn(user_id: int, body: ChatRequest) -> tuple[int, list[dict[str, str]]]:
        """Store the user's message (in a new conversation if none given); return the history before it."""
        with Session() as session:
            if body.conversation_id is None:
                conversation = Conversation(user_id=user_id, title=body.message.strip()[:80])
                session.add(conversation)
                session.flush()
                history: list[Message] = []
            else:
                conversation = owned_conversation(session, user_id, body.conversation_id)
                history = list(session.scalars(
                    select(Message).where(Message.conversation_id == conversation.id)
                    .order_by(Message.id.desc()).limit(HISTORY_MESSAGES)))[::-1]
            session.add(Message(conversation_id=conversation.id, role="user", content=body.message))
            conversation.updated_at = utcnow()
            session.commit()
            return conversation.id, [{"role": m.role, "content": m.content} for m in history]

    def finish_turn(conversation_id: int, reply: str, tool_calls: list) -> None:
        with Session() as session:
            session.add(Message(conversation_id=conversation_id, role="assistant", content=reply,
                                tool_calls=tool_calls))
            session.get(Conversation, conversation_id).updated_at = utcnow()
            session.commit()

    async def agent_answer(token: str, message: str, history: list[dict[str, str]]) -> dict[str, Any]:
        if not settings.agent_url:
            return await run_agent(tool_server, token, message, history)
        try:
            async with httpx.AsyncClient(timeout=settings.chat_turn_seconds) as client:
                resp = await client.post(f"{settings.agent_url}/chat", json={"message": message, "history": history},
                                         headers={"Authorization": f"Bearer {token}",
                                                  request_ids.HEADER: request_ids.current()})
        except httpx.HTTPError as err:
            raise AgentError(f"ai-agent at {settings.agent_url} unreachable: {err}") from err
        if resp.status_code != 200:
            raise AgentError(f"ai-agent at {settings.agent_url} answered {resp.status_code}: {resp.text[:300]}")
        return resp.json()

    @app.post("/api/chat")
    async def chat(body: ChatRequest, request: Request, user: CurrentUser):
        conversation_id, history = await anyio.to_thread.run_sync(start_turn, user.id, body)
        try:
            with anyio.move_on_after(settings.chat_turn_seconds) as deadline:
                # the agent and the tools get a token for this turn only, never the 7-day session token
                answer = await agent_answer(signing_key.tool_token(user.id), body.message, history)
            if deadline.cancelled_caught:
                log.error("request %s: chat turn passed its %gs deadline (CHAT_TURN_SECONDS)",
                          request_ids.current(), settings.chat_turn_seconds)
                return request_ids.failure(status.HTTP_504_GATEWAY_TIMEOUT,
                                           f"the chatbot took longer than {settings.chat_turn_seconds:g}s; "
                                           "try again or ask something simpler")
        except AgentError as err:
            # the details (upstream URLs, the provider's answer) go to the log only
            log.error("request %s: chat failed: %s", request_ids.current(), err)
            return request_ids.failure(status.HTTP_502_BAD_GATEWAY, "the chatbot could not answer just now; try again")
        finally:
            # the tools write through the MCP server, not this process: drop the cached list either way
            cache.invalidate(user.id)
        reply, tool_calls = answer["reply"], answer.get("tool_calls", [])
        await anyio.to_thread.run_sync(finish_turn, conversation_id, reply, tool_calls)
        return {"conversation_id": conversation_id, "reply": reply, "tool_calls": tool_calls}

    return app


def _app_from_env() -> FastAPI:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return create_app()
    except ConfigError as err:
        # a clear one-line reason in the pod's log instead of a traceback
        print(f"backend: configuration error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def __getattr__(name: str):
    # `uvicorn app.main:app` builds the app on first access, so importing this module needs no env
    if name == "app":
        return _app_from_env()
    raise AttributeError(name)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(_app_from_env(), host="0.0.0.0", port=int(os.environ.get("PORT", "8000")))
