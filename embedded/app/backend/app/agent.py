"""The chat agent: talks to the MCP tool server and answers in plain language.

With OPENAI_API_KEY it asks an OpenAI-compatible chat-completions API
(LLM_BASE_URL, LLM_MODEL) and runs the tool calls the model makes; without it
the offline agent below reads plain requests itself. Both act only through
the MCP tools, over streamable HTTP (MCP_SERVER_URL) or a stdio subprocess.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from .auth import SigningKey
from .config import Settings

log = logging.getLogger("todo.agent")
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
MAX_LLM_ROUNDS = 6


class AgentError(RuntimeError):
    """The agent could not answer (model API or tool server unreachable); the message says which."""


class TodoTools:
    """One MCP session on behalf of one user: fills in the user's token and records every call."""

    def __init__(self, session: ClientSession, user_token: str):
        self._session = session
        self._user_token = user_token
        self.calls: list[dict[str, Any]] = []

    async def schemas(self) -> list[dict[str, Any]]:
        """The tools as OpenAI function definitions, without the token the model must not see."""
        listed = await self._session.list_tools()
        out = []
        for tool in listed.tools:
            params = json.loads(json.dumps(tool.inputSchema))
            params.get("properties", {}).pop("user_token", None)
            if "required" in params:
                params["required"] = [r for r in params["required"] if r != "user_token"]
            out.append({"type": "function", "function": {
                "name": tool.name, "description": tool.description or "", "parameters": params}})
        return out

    async def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        """The tool's result, or {"error": message} when the tool refused (e.g. no such task)."""
        arguments = {k: v for k, v in arguments.items() if k != "user_token"}
        result = await self._session.call_tool(tool, {**arguments, "user_token": self._user_token})
        text = " ".join(c.text for c in result.content if getattr(c, "type", "") == "text")
        if result.isError:
            value: Any = {"error": re.sub(r"^Error executing tool \w+: ", "", text) or "tool failed"}
        elif result.structuredContent is not None:
            value = result.structuredContent
        else:
            try:
                value = json.loads(text)
            except ValueError:
                value = text
        self.calls.append({"tool": tool, "arguments": arguments, "result": value})
        return value


@asynccontextmanager
async def mcp_session(settings: Settings) -> AsyncIterator[ClientSession]:
    timeout = timedelta(seconds=settings.chat_turn_seconds)
    if settings.mcp_over_http:
        async with streamable_http_client(settings.mcp_server_url) as (read, write, _):
            async with ClientSession(read, write, read_timeout_seconds=timeout) as session:
                await session.initialize()
                yield session
        return
    # the subprocess verifies tokens with public keys: the signing secret stays in this process
    env = {k: v for k, v in os.environ.items() if k not in ("BETTER_AUTH_SECRET", "AUTH_JWKS", "AUTH_JWKS_URL")}
    env.update(DATABASE_URL=settings.database_url, MCP_TRANSPORT="stdio", PYTHONPATH=str(PACKAGE_ROOT))
    if settings.auth_secret:
        env["AUTH_JWKS"] = json.dumps(SigningKey(settings.auth_secret).jwks())
    elif settings.jwks:
        env["AUTH_JWKS"] = json.dumps(settings.jwks)
    else:
        env["AUTH_JWKS_URL"] = settings.jwks_url or ""
    params = StdioServerParameters(command=sys.executable, args=["-m", "app.mcp_server", "--stdio"],
                                   env=env, cwd=str(PACKAGE_ROOT))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=timeout) as session:
            await session.initialize()
            yield session


def _unwrap(err: BaseException) -> BaseException:
    while isinstance(err, BaseExceptionGroup) and len(err.exceptions) == 1:
        err = err.exceptions[0]
    return err


class ToolServer:
    """The process's one MCP client session (one stdio subprocess, or one HTTP client to
    MCP_SERVER_URL), opened on first use and shared by every chat turn; after a failure the next
    turn opens a new one. Its connection lives in a task of the app's lifespan (`serve`), since
    the SDK's transports must be entered and left in one task."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.opened = 0  # sessions opened so far (one, unless the server went away)
        self._session: ClientSession | None = None
        self._task_group = None
        self._lock: anyio.Lock | None = None
        self._close: anyio.Event | None = None
        # Set when the current session ends: a turn using it stops then.
        self._ended: anyio.Event | None = None
        self._error: BaseException | None = None

    @property
    def where(self) -> str:
        return self.settings.mcp_server_url if self.settings.mcp_over_http else "the stdio MCP subprocess"

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[ToolServer]:
        async with anyio.create_task_group() as tg:
            self._task_group = tg
            try:
                yield self
            finally:
                self.discard()
                tg.cancel_scope.cancel()
                self._task_group = None

    async def session(self) -> ClientSession:
        if self._session is not None:
            return self._session
        if self._task_group is None:
            raise AgentError("the task tools are not started (the app's lifespan did not run)")
        self._lock = self._lock or anyio.Lock()
        async with self._lock:
            if self._session is None:
                ready = anyio.Event()
                self._task_group.start_soon(self._hold, ready)
                await ready.wait()
            if self._session is None:
                raise AgentError(f"the task tools ({self.where}) failed: {self._error!r}")
            return self._session

    async def _hold(self, ready: anyio.Event) -> None:
        close = self._close = anyio.Event()
        ended = self._ended = anyio.Event()
        try:
            async with mcp_session(self.settings) as session:
                self._session, self._error = session, None
                self.opened += 1
                ready.set()
                await close.wait()
        except Exception as err:
            self._error = _unwrap(err)
            log.error("MCP session (%s) ended: %r", self.where, self._error)
        finally:
            self._session = None
            ended.set()
            ready.set()

    async def session_and_end(self) -> tuple[ClientSession, anyio.Event]:
        """The session, and the event set when it ends."""
        session = await self.session()
        assert self._ended is not None
        return session, self._ended

    def discard(self) -> None:
        """Close the current session (it failed); the next turn opens a new one."""
        self._session = None
        if self._close is not None:
            self._close.set()


async def run_agent(tool_server: ToolServer, user_token: str, message: str,
                    history: list[dict[str, str]]) -> dict[str, Any]:
    """{"reply": str, "tool_calls": [...]} for one user message."""
    settings = tool_server.settings
    session, ended = await tool_server.session_and_end()
    tools = TodoTools(session, user_token)
    try:
        if settings.llm_api_key:
            reply = await _unless_ended(ended, tool_server, lambda: llm_reply(settings, tools, message, history))
        else:
            reply = await _unless_ended(ended, tool_server, lambda: offline_reply(tools, message))
    except AgentError:
        raise
    except Exception as err:
        err = _unwrap(err)
        tool_server.discard()
        raise AgentError(f"the task tools ({tool_server.where}) failed: {err!r}") from err
    return {"reply": reply, "tool_calls": tools.calls}


async def _unless_ended(ended: anyio.Event, tool_server: ToolServer, work: Any) -> Any:
    """`work`'s result, or AgentError at once when the session it uses ends
    (a dead subprocess answers no request: waiting would hang the turn)."""
    outcome: dict[str, Any] = {}
    async with anyio.create_task_group() as tg:
        async def run() -> None:
            try:
                outcome["value"] = await work()
            except Exception as err:  # noqa: BLE001 - re-raised below, outside the group
                outcome["error"] = err
            tg.cancel_scope.cancel()

        async def watch() -> None:
            await ended.wait()
            tg.cancel_scope.cancel()

        tg.start_soon(run)
        tg.start_soon(watch)
    if "error" in outcome:
        raise outcome["error"]
    if "value" in outcome:
        return outcome["value"]
    raise AgentError(f"the task tools ({tool_server.where}) ended during the turn: {tool_server._error!r}")


# ---------------------------------------------------------------------------
# OpenAI-compatible tool-calling loop
# ---------------------------------------------------------------------------
SYSTEM_PROMPT = (
    "You are a friendly assistant that manages the user's todo list with the tools you have. "
    "Use the tools for every change and to look tasks up (list_tasks gives ids); never invent ids. "
    "Answer briefly in plain language and confirm what you changed."
)


async def llm_reply(settings: Settings, tools: TodoTools, message: str,
                    history: list[dict[str, str]]) -> str:
    schemas = await tools.schemas()
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT}]
    messages += [{"role": m["role"], "content": m["content"]} for m in history]
    messages.append({"role": "user", "content": message})
    url = f"{settings.llm_base_url}/chat/completions"
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"}
    async with httpx.AsyncClient(timeout=settings.chat_turn_seconds) as client:
        for _ in range(MAX_LLM_ROUNDS):
            body = {"model": settings.llm_model, "messages": messages, "tools": schemas, "tool_choice": "auto"}
            try:
                resp = await client.post(url, json=body, headers=headers)
            except httpx.HTTPError as err:
                raise AgentError(f"LLM API at {settings.llm_base_url} unreachable: {err}") from err
            if resp.status_code != 200:
                raise AgentError(f"LLM API at {settings.llm_base_url} answered {resp.status_code}: "
                                 f"{resp.text[:300]}")
            try:
                choice = resp.json()["choices"][0]["message"]
            except (ValueError, KeyError, IndexError) as err:
                raise AgentError(f"LLM API at {settings.llm_base_url} sent no choices: {resp.text[:300]}") from err
            calls = choice.get("tool_calls") or []
            if not calls:
                return (choice.get("content") or "").strip() or "Done."
            messages.append({"role": "assistant", "content": choice.get("content"), "tool_calls": calls})
            for call in calls:
                fn = call.get("function", {})
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    args = None
                if not isinstance(args, dict):
                    result: Any = {"error": "arguments were not a JSON object"}
                else:
                    result = await tools.call(fn.get("name", ""), args)
                messages.append({"role": "tool", "tool_call_id": call.get("id", ""),
                                 "content": json.dumps(result)})
    return "I made several changes but could not finish; please look at your list."


# ---------------------------------------------------------------------------
# Offline agent: plain requests, no model
# ---------------------------------------------------------------------------
HELP = ('I can manage your list: try "add buy milk", "what\'s on my list", "complete 3", '
        '"delete the milk task" or "rename 2 to call mum".')

_POLITE = re.compile(r"^(?:(?:hey|hi|ok|okay|please|pls|can you|could you|would you|will you|"
                     r"i want to|i'd like to|i would like to|go ahead and|now)\b[\s,]*)+")
_POLITE_END = re.compile(r"(?:[\s,]+(?:please|pls|thanks|thank you|thx|now|for me))+$")
_LIST = re.compile(r"\b(?:list|lists|tasks?|todos?|to-?dos?|to do|agenda)\b"
                   r"|\bwhat(?:'s| is| are)? (?:on|left|next|remaining|pending|outstanding)\b"
                   r"|\bwhat (?:do i|have i|should i|must i)\b|^(?:show|list)\b|\banything (?:left|pending)\b")
_ADD = re.compile(r"^(?:add|create|new|put|remember to|remind me to|i need to|i have to|note)\b[\s:]*(.*)$")
_COMPLETE = re.compile(r"^(?:complete|completed|finish|finished|done with|mark|check off|check|tick off|tick|"
                       r"i finished|i completed|i did|i'm done with|i am done with|i've finished|i have finished|"
                       r"i've done|i have done)\b\s*(.*)$")
_SET_DONE = re.compile(r"^set\s+(.*?)\s+(?:as|to)\s+(?:done|complete|completed|finished)$")
_SET_OPEN = re.compile(r"^(?:mark|set)\s+(.*?)\s+(?:as\s+|to\s+)?(?:not done|undone|incomplete|not complete|"
                       r"not completed|open|pending)$")
_DONE_SUFFIX = re.compile(r"^(.*?)\s+(?:is|are)\s+(?:done|finished|complete|completed)$")
_DELETE = re.compile(r"^(?:delete|remove|drop|erase|cancel|clear|get rid of|forget about|forget)\b\s*(.*)$")
_RENAME = re.compile(r"^(?:rename|change|update|edit|retitle)\b\s*(.*?)\s+(?:to|into|as)\s+(.+)$")
_REOPEN = re.compile(r"^(?:reopen|uncomplete|undo|unmark|uncheck)\b\s*(.*)$")
# "all", "everything", "2 and 3": the offline agent changes one task per message, on purpose
_MANY = re.compile(r"^(?:(?:all|every|each)\b.*|everything|(?:the )?(?:whole|entire) list|.*\b(?:and|,)\s*(?:#|task )?\d+)$")
_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1}
_NUMBERS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}


def _normalise(message: str) -> str:
    text = message.strip().lower()
    text = re.sub(r"[\u2018\u2019]", "'", text)
    text = re.sub(r"[.!?]+$", "", text).strip()
    text = _POLITE_END.sub("", text).strip()
    return _POLITE.sub("", text).strip()


def _strip_quotes(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].strip()
    return text


def _title_to_add(rest: str, original: str) -> str:
    # keep the user's capitals: find the same words in the original message (the same length lower-cased)
    original = re.sub(r"[\u2018\u2019]", "'", original.strip())
    start = original.lower().find(rest) if rest else -1
    title = original[start:start + len(rest)] if start >= 0 else rest
    title = re.sub(r"^(?:a |an |the )?(?:new )?(?:task|todo|to-do|item|reminder)\b\s*(?:to |called |named |:)?\s*",
                   "", title, flags=re.I)
    title = re.sub(r"\s+(?:to|on|onto) (?:my|the) (?:todo |to-do |task )?(?:list|tasks)$", "", title, flags=re.I)
    return _strip_quotes(title.strip(" :"))


def _target_text(rest: str) -> str:
    text = re.sub(r"\s+(?:as )?(?:done|complete|completed|finished)$", "", rest.strip())
    text = re.sub(r"^(?:the |my |task |item |number |no\.? |#)+", "", text)
    text = re.sub(r"\s+(?:task|item|todo|one)$", "", text)
    text = re.sub(r"\s+(?:from|off|on) (?:my|the) (?:todo |to-do )?(?:list|tasks)$", "", text)
    text = _strip_quotes(text.strip())
    return _NUMBERS.get(text, text)


async def _find(tools: TodoTools, target: str, prefer_pending: bool) -> tuple[dict | None, str | None]:
    """The task `target` names (an id, an ordinal or words of its title), or a reply saying why not."""
    if re.fullmatch(r"\d+", target):
        return {"id": int(target)}, None
    listed = await tools.call("list_tasks", {"status": "all"})
    tasks = listed.get("tasks", []) if isinstance(listed, dict) else []
    if not tasks:
        return None, "Your list is empty, so there is nothing to change."
    if target in _ORDINALS:
        index = _ORDINALS[target]
        if index >= len(tasks):
            return None, f"You only have {len(tasks)} task{'s' if len(tasks) != 1 else ''}."
        return tasks[index], None
    words = [w for w in re.findall(r"[\w']+", target) if w not in ("the", "a", "an", "my")]
    if not words:
        return None, f"Which task? {HELP}"
    matches = [t for t in tasks if all(w in t["title"].lower() for w in words)]
    if len(matches) > 1 and prefer_pending:
        pending = [t for t in matches if not t["completed"]]
        matches = pending or matches
    if not matches:
        return None, f'I couldn\'t find a task matching "{target}" on your list.'
    if len(matches) > 1:
        options = ", ".join(f'{t["id"]}: "{t["title"]}"' for t in matches)
        return None, f'More than one task matches "{target}" ({options}). Which one? Give me its number.'
    return matches[0], None


def _failed(result: Any) -> str | None:
    return result.get("error") if isinstance(result, dict) and "error" in result else None


def _not_found_reply(task_id: int, error: str) -> str:
    if "not found" in error:
        return f"I couldn't find task {task_id} on your list."
    return f"That didn't work: {error}."


def _describe(tasks: list[dict], status: str) -> str:
    if not tasks:
        return {"pending": "Nothing left to do: no pending tasks.",
                "completed": "You haven't completed any tasks yet."}.get(status, "Your list is empty.")
    label = {"pending": "pending task", "completed": "completed task"}.get(status, "task")
    lines = [f'- {t["id"]}: {t["title"]}' + (" (done)" if t["completed"] and status == "all" else "")
             for t in tasks]
    plural = "s" if len(tasks) != 1 else ""
    return f"You have {len(tasks)} {label}{plural}:\n" + "\n".join(lines)


async def _act_on_task(tools: TodoTools, target: str, tool: str, args: dict[str, Any], prefer_pending: bool,
                       reply: str) -> str:
    """Find the task the user named, run `tool` on it, and say what happened (`reply` gets the result's fields)."""
    target = _target_text(target)
    if not target:
        return f"Which task? Give me its number or words from its title. {HELP}"
    if _MANY.match(target):
        return "I change one task at a time: tell me which one (its number or words from its title)."
    task, why = await _find(tools, target, prefer_pending)
    if task is None:
        return why or HELP
    result = await tools.call(tool, {"task_id": task["id"], **args})
    if err := _failed(result):
        return _not_found_reply(task["id"], err)
    return reply.format(**result)


async def offline_reply(tools: TodoTools, message: str) -> str:
    text = _normalise(message)
    if not text or re.fullmatch(r"(?:hi|hello|hey|help|\?)+", text):
        return HELP
    if re.fullmatch(r"(?:thanks|thank you|thx|cheers|great|cool|ok|okay)\b.*", text):
        return "You're welcome! Anything else for your list?"

    if m := _RENAME.match(text):
        title = _title_to_add(m.group(2), message)
        return await _act_on_task(tools, m.group(1), "update_task", {"title": title}, prefer_pending=False,
                                  reply='Renamed task {id} to "{title}".')
    if m := _DELETE.match(text):
        return await _act_on_task(tools, m.group(1), "delete_task", {}, prefer_pending=False,
                                  reply='Deleted task {id} "{title}".')
    if m := _REOPEN.match(text) or _SET_OPEN.match(text):
        return await _act_on_task(tools, m.group(1), "update_task", {"completed": False}, prefer_pending=False,
                                  reply='Task {id} "{title}" is open again.')
    if m := _SET_DONE.match(text) or _COMPLETE.match(text) or _DONE_SUFFIX.match(text):
        return await _act_on_task(tools, m.group(1), "complete_task", {}, prefer_pending=True,
                                  reply='Marked task {id} "{title}" as done.')

    if m := _ADD.match(text):
        title = _title_to_add(m.group(1).strip(), message) if m.group(1).strip() else ""
        if not title:
            return 'What should the task say? For example "add buy milk".'
        result = await tools.call("add_task", {"title": title})
        if err := _failed(result):
            return f"I couldn't add that: {err}."
        return f'Added "{result["title"]}" to your list (task {result["id"]}).'

    if _LIST.search(text):
        status = "all"
        if re.search(r"\b(?:pending|open|left|remaining|undone|unfinished|outstanding|not done)\b", text):
            status = "pending"
        elif re.search(r"\b(?:done|completed|finished)\b", text):
            status = "completed"
        result = await tools.call("list_tasks", {"status": status})
        if err := _failed(result):
            return f"I couldn't read your list: {err}."
        return _describe(result.get("tasks", []), status)

    return f"Sorry, I didn't understand that. {HELP}"
