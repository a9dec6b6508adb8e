"""A request id on every request and answer (X-Request-ID), so an error's short message and the
server log line with its details can be matched, and nothing upstream leaks to the caller."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

HEADER = "X-Request-ID"
_current: ContextVar[str] = ContextVar("request_id", default="-")
# an id from a caller (the frontend's proxy, the backend calling ai-agent) is kept if it looks like one
_ACCEPTED = re.compile(r"[A-Za-z0-9._-]{8,64}")


def current() -> str:
    return _current.get()


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def failure(status_code: int, message: str) -> JSONResponse:
    """A short answer for the caller: what failed, in words, and the id to find the details in the log."""
    rid = current()
    return JSONResponse({"detail": f"{message} (request id {rid})", "request_id": rid},
                        status_code=status_code, headers={HEADER: rid})


def install(app: FastAPI, log: logging.Logger) -> None:
    @app.middleware("http")
    async def request_id(request: Request, call_next):
        given = request.headers.get(HEADER, "")
        rid = given if _ACCEPTED.fullmatch(given) else new_id()
        token = _current.set(rid)
        request.state.request_id = rid
        try:
            response = await call_next(request)
        finally:
            _current.reset(token)
        response.headers[HEADER] = rid
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception):
        # runs outside the middleware above: the id is on the request
        rid = getattr(request.state, "request_id", None) or new_id()
        log.error("request %s %s %s failed", rid, request.method, request.url.path, exc_info=err)
        return JSONResponse({"detail": f"internal error (request id {rid})", "request_id": rid},
                            status_code=500, headers={HEADER: rid})
