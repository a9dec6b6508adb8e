"""Settings read from the environment, checked once at start-up."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass


class ConfigError(RuntimeError):
    """A missing or malformed environment variable; the message says which and how to fix it."""


# LLM_PROVIDER: (its key variable, its OpenAI-compatible base URL, a default model with tool calling)
LLM_PROVIDERS = {
    "openai": ("OPENAI_API_KEY", "https://api.openai.com/v1", "gpt-4o-mini"),
    "groq": ("GROQ_API_KEY", "https://api.groq.com/openai/v1", "llama-3.3-70b-versatile"),
    "gemini": ("GEMINI_API_KEY", "https://generativelanguage.googleapis.com/v1beta/openai", "gemini-2.0-flash"),
    "openrouter": ("OPENROUTER_API_KEY", "https://openrouter.ai/api/v1", "openai/gpt-4o-mini"),
}


def database_url_for_sqlalchemy(url: str) -> str:
    """Map the URL forms the plans and hosts hand out (postgres://, postgresql://, postgresql+asyncpg://,
    with Neon's ?sslmode=require) to the psycopg 3 driver."""
    url = url.strip().strip("'\"")
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://",
                   "postgresql+asyncpg://", "postgres+asyncpg://"):
        if url.startswith(prefix):
            rest = url[len(prefix):]
            base, sep, query = rest.partition("?")
            # asyncpg spells it ssl=require; libpq (psycopg) sslmode=require
            params = ["sslmode=" + p[4:] if p.startswith("ssl=") else p for p in query.split("&") if p]
            return "postgresql+psycopg://" + base + (sep + "&".join(params) if params else "")
    raise ConfigError(
        "DATABASE_URL must be a PostgreSQL URL such as "
        "postgresql://user:password@host:5432/dbname (got a URL with another scheme)"
    )


@dataclass(frozen=True)
class Settings:
    database_url: str
    # the backend: the signing key's source; mcp-server and ai-agent: None, they get public keys
    auth_secret: str | None = None
    jwks: dict | None = None
    jwks_url: str | None = None
    llm_api_key: str | None = None
    llm_provider: str = "openai"
    llm_base_url: str = "https://api.openai.com/v1"
    llm_model: str = "gpt-4o-mini"
    mcp_server_url: str | None = None
    mcp_transport: str = "auto"
    agent_url: str | None = None
    redis_url: str | None = None
    port: int = 8000
    # sign-in bounds (throttle.py): None = sized to the memory limit
    hash_concurrency: int | None = None
    auth_rate_per_client: tuple[int, float] = (30, 60.0)
    auth_rate_per_account: tuple[int, float] = (10, 300.0)
    trusted_proxy_hops: int = 1
    # the longest a chat turn may take (model and tools together) before the answer says so
    chat_turn_seconds: float = 30.0

    @property
    def mcp_over_http(self) -> bool:
        return bool(self.mcp_server_url) and self.mcp_transport != "stdio"


def _optional(env: dict[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def llm_choice(env: dict[str, str]) -> tuple[str, str | None, str, str]:
    """(provider, its API key or None, base URL, model) from LLM_PROVIDER, the key variables and the overrides."""
    provider = (_optional(env, "LLM_PROVIDER") or "").lower()
    if provider and provider not in LLM_PROVIDERS:
        raise ConfigError(f"LLM_PROVIDER={provider}: use one of {', '.join(LLM_PROVIDERS)} or leave it unset")
    if not provider:
        # unset: the first provider whose key is there (openai when none is: the offline agent runs)
        provider = next((p for p, (key, _, _) in LLM_PROVIDERS.items() if _optional(env, key)), "openai")
    key_var, base_url, model = LLM_PROVIDERS[provider]
    key = _optional(env, key_var)
    if _optional(env, "LLM_PROVIDER") and key is None:
        raise ConfigError(f"LLM_PROVIDER={provider} needs {key_var}: put it in .env, or unset LLM_PROVIDER "
                          "to use the offline agent")
    base_url = (_optional(env, "LLM_BASE_URL") or base_url).rstrip("/")
    model = _optional(env, "LLM_MODEL") or _optional(env, f"{provider.upper()}_MODEL") or model
    return provider, key, base_url, model


DEFAULT_JWKS_URL = "http://backend:8000/api/auth/jwks"


def load_settings(env: dict[str, str] | None = None, default_port: int = 8000, signs_tokens: bool = True) -> Settings:
    """signs_tokens: the backend (needs BETTER_AUTH_SECRET); mcp-server and ai-agent verify with the
    backend's public keys instead: AUTH_JWKS (the JWKS itself) or AUTH_JWKS_URL (default DEFAULT_JWKS_URL)."""
    env = dict(os.environ if env is None else env)
    needed = ("DATABASE_URL", "BETTER_AUTH_SECRET") if signs_tokens else ("DATABASE_URL",)
    missing = [n for n in needed if not _optional(env, n)]
    if missing:
        raise ConfigError(
            f"{' and '.join(missing)} not set: put it in the project's .env "
            "(see .env.example), e.g. BETTER_AUTH_SECRET=$(openssl rand -hex 32)"
        )
    secret, jwks, jwks_url = None, None, None
    if signs_tokens:
        secret = env["BETTER_AUTH_SECRET"].strip()
        if len(secret) < 32:
            raise ConfigError("BETTER_AUTH_SECRET is shorter than 32 characters: use e.g. `openssl rand -hex 32`")
    elif text := _optional(env, "AUTH_JWKS"):
        try:
            jwks = json.loads(text)
        except ValueError as err:
            raise ConfigError(f"AUTH_JWKS is not JSON: {err}") from err
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise ConfigError('AUTH_JWKS must be a JWKS: {"keys": [...]}, as GET /api/auth/jwks answers')
    else:
        jwks_url = _optional(env, "AUTH_JWKS_URL") or DEFAULT_JWKS_URL
    transport = (_optional(env, "MCP_TRANSPORT") or "auto").lower()
    if transport not in ("auto", "http", "stdio"):
        raise ConfigError(f"MCP_TRANSPORT={transport}: use http, stdio or leave it unset")
    if transport == "http" and not _optional(env, "MCP_SERVER_URL"):
        raise ConfigError("MCP_TRANSPORT=http needs MCP_SERVER_URL, e.g. http://mcp-server:8001/mcp")
    port_text = _optional(env, "PORT") or str(default_port)
    try:
        port = int(port_text)
    except ValueError as err:
        raise ConfigError(f"PORT={port_text} is not a port number") from err
    from .throttle import parse_rate

    def count(name: str, default: int | None, low: int) -> int | None:
        text = _optional(env, name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise ConfigError(f"{name}={text}: give a whole number of at least {low}")
        return value

    provider, llm_key, llm_base_url, llm_model = llm_choice(env)
    return Settings(
        llm_provider=provider,
        llm_api_key=llm_key,
        llm_base_url=llm_base_url,
        llm_model=llm_model,
        hash_concurrency=count("AUTH_HASH_CONCURRENCY", None, 1),
        auth_rate_per_client=parse_rate(_optional(env, "AUTH_RATE_PER_CLIENT") or "30/60", "AUTH_RATE_PER_CLIENT"),
        auth_rate_per_account=parse_rate(_optional(env, "AUTH_RATE_PER_ACCOUNT") or "10/300",
                                         "AUTH_RATE_PER_ACCOUNT"),
        trusted_proxy_hops=count("TRUSTED_PROXY_HOPS", 1, 0),
        chat_turn_seconds=float(count("CHAT_TURN_SECONDS", 30, 1)),
        database_url=database_url_for_sqlalchemy(env["DATABASE_URL"]),
        auth_secret=secret,
        jwks=jwks,
        jwks_url=jwks_url,
        mcp_server_url=_optional(env, "MCP_SERVER_URL"),
        mcp_transport=transport,
        agent_url=(_optional(env, "AGENT_URL") or "").rstrip("/") or None,
        redis_url=_optional(env, "REDIS_URL"),
        port=port,
    )
