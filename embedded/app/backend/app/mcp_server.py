"""The MCP server: the chatbot's five task tools, each scoped to the user whose token it is given.

    python -m app.mcp_server           streamable HTTP on PORT (default 8001), path /mcp, GET /health
    python -m app.mcp_server --stdio   over stdin/stdout (the backend spawns it so, in profile lite)

Every tool takes `user_token`: the short-lived token the backend made for one
chat turn (audience todo-mcp, minutes). The caller (backend or ai-agent) fills it
in, the model never sees it, and this server verifies it with the backend's
public key (AUTH_JWKS, or AUTH_JWKS_URL: /api/auth/jwks), so a caller cannot act
for a user it has no token of, and this server never holds the signing secret.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Literal

from mcp.server.fastmcp import FastMCP
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import JSONResponse

from . import tasks
from .auth import MCP_AUDIENCE, InvalidToken, TokenVerifier
from .config import ConfigError, Settings, load_settings
from .db import create_schema, make_engine, make_sessionmaker

log = logging.getLogger("todo.mcp")

MCP_PATH = "/mcp"
DEFAULT_PORT = 8001

# the same bounds as the REST API, in the tools' input schemas: the model sees them, the SDK enforces them
Title = Annotated[str, Field(min_length=1, max_length=tasks.TITLE_MAX, description="the task's title")]
Description = Annotated[str | None, Field(max_length=tasks.DESCRIPTION_MAX, description="optional details")]
TaskId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Token = Annotated[str, Field(max_length=4096)]


def build_server(settings: Settings, engine: Engine) -> FastMCP:
    Session = make_sessionmaker(engine)
    verifier = TokenVerifier(MCP_AUDIENCE, settings.jwks, settings.jwks_url)
    server = FastMCP(
        "todo",
        instructions="Manage the signed-in user's todo list.",
        # stateless + JSON: any replica answers any request, no session affinity needed
        stateless_http=True,
        json_response=True,
        streamable_http_path=MCP_PATH,
        host="0.0.0.0",
        port=settings.port,
        # reached by Service name (mcp-server:8001); NetworkPolicy admits only backend and ai-agent
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )

    def user_of(user_token: str) -> int:
        try:
            return verifier.user_id(user_token)
        except InvalidToken as err:
            raise ValueError("not signed in: the user token is invalid or expired") from err

    def run(op, user_token: str, *args, **kwargs):
        user_id = user_of(user_token)
        with Session() as session:
            try:
                return op(session, user_id, *args, **kwargs)
            except (tasks.TaskNotFound, tasks.InvalidTask) as err:
                raise ValueError(str(err)) from err

    @server.tool()
    def add_task(user_token: Token, title: Title, description: Description = None) -> dict:
        """Add a task to the user's list and return it."""
        return run(tasks.add_task, user_token, title, description)

    @server.tool()
    def list_tasks(user_token: Token, status: Literal["all", "pending", "completed"] = "all") -> dict:
        """List the user's tasks (all, pending or completed), oldest first."""
        return {"tasks": run(tasks.list_tasks, user_token, status)}

    @server.tool()
    def complete_task(user_token: Token, task_id: TaskId) -> dict:
        """Mark one of the user's tasks as done and return it."""
        return run(tasks.complete_task, user_token, task_id)

    @server.tool()
    def delete_task(user_token: Token, task_id: TaskId) -> dict:
        """Delete one of the user's tasks and return what was deleted."""
        return run(tasks.delete_task, user_token, task_id)

    @server.tool()
    def update_task(user_token: Token, task_id: TaskId, title: Title | None = None,
                    description: Description = None, completed: bool | None = None) -> dict:
        """Change the title, description or completed state of one of the user's tasks."""
        return run(tasks.update_task, user_token, task_id, title, description, completed)

    @server.custom_route("/health", methods=["GET"])
    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return server


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # stdout carries the protocol on stdio: logs go to stderr only
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(default_port=DEFAULT_PORT, signs_tokens=False)
    except ConfigError as err:
        print(f"mcp-server: {err}", file=sys.stderr)
        return 2
    stdio = "--stdio" in argv or settings.mcp_transport == "stdio"
    engine = make_engine(settings.database_url)
    server = build_server(settings, engine)
    if stdio:
        # spawned by the backend, which created the schema already; one log line per call is noise there
        logging.getLogger("mcp").setLevel(logging.WARNING)
        server.run("stdio")
        return 0
    create_schema(engine)
    import uvicorn

    log.info("MCP over streamable HTTP on :%d%s", settings.port, MCP_PATH)
    uvicorn.run(server.streamable_http_app(), host="0.0.0.0", port=settings.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
