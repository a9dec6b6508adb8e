"""The ai-agent service (profile agents): the chat agent on its own, behind POST /chat.

    python -m app.agent_service     (PORT, default 8002)

The backend keeps the conversation and forwards each message here with the
user's bearer token and the recent history; this service verifies the token,
runs the agent against the MCP server and returns {"reply", "tool_calls"}.
"""


import logging
import sys
from contextlib import asynccontextmanager
from typing import Literal

import anyio
import httpx
from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from . import request_ids
from .agent import AgentError, ToolServer, run_agent
from .auth import AGENT_AUDIENCE, InvalidToken, TokenVerifier
from .config import ConfigError, Settings, load_settings
from .db import make_engine, ping

log = logging.getLogger("todo.agent_service")
DEFAULT_PORT = 8002


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AgentRequest(BaseModel):
    message: str = Field(min_length=1, max_length=4000)
    history: list[Turn] = Field(default_factory=list, max_length=100)


def create_agent_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings(default_port=DEFAULT_PORT, signs_tokens=False)
    verifier = TokenVerifier(AGENT_AUDIENCE, settings.jwks, settings.jwks_url)
    engine = None if settings.mcp_over_http else make_engine(settings.database_url)
    tool_server = ToolServer(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        async with tool_server.serve():
            yield

    app = FastAPI(title="Todo chatbot agent", lifespan=lifespan)
    app.state.tool_server = tool_server
    request_ids.install(app, log)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/ready")
    async def ready():
        # ready when the tools can run: the MCP server answers, or (stdio) the database does
        if settings.mcp_over_http:
            health_url = settings.mcp_server_url.rsplit("/mcp", 1)[0] + "/health"
            try:
                async with httpx.AsyncClient(timeout=3) as client:
                    ok = (await client.get(health_url)).status_code == 200
            except httpx.HTTPError:
                ok = False
            if not ok:
                return JSONResponse({"status": "unavailable", "mcp": "unreachable"}, status_code=503)
            return {"status": "ready", "mcp": "ok"}
        try:
            ping(engine)
        except SQLAlchemyError:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return {"status": "ready", "database": "ok"}

    @app.post("/chat")
    async def chat(body: AgentRequest, request: Request):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer":
                raise InvalidToken("no bearer token")
            await anyio.to_thread.run_sync(verifier.user_id, token.strip())
        except InvalidToken:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "a valid user token is required") from None
        try:
            with anyio.move_on_after(settings.chat_turn_seconds):
                return await run_agent(tool_server, token.strip(), body.message,
                                       [t.model_dump() for t in body.history])
            log.error("request %s: chat turn passed its %gs deadline", request_ids.current(),
                      settings.chat_turn_seconds)
            return request_ids.failure(status.HTTP_504_GATEWAY_TIMEOUT, "the agent took too long")
        except AgentError as err:
            log.error("request %s: chat failed: %s", request_ids.current(), err)
            return request_ids.failure(status.HTTP_502_BAD_GATEWAY, "the agent could not answer")

    return app


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(default_port=DEFAULT_PORT, signs_tokens=False)
    except ConfigError as err:
        print(f"ai-agent: configuration error: {err}", file=sys.stderr)
        return 2
    import uvicorn

    uvicorn.run(create_agent_app(settings), host="0.0.0.0", port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
