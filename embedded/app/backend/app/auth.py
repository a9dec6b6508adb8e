"""Password hashing (scrypt, from the standard library) and the tokens: EdDSA (Ed25519) JWTs that
only the backend signs, with a key derived from BETTER_AUTH_SECRET, and everyone else verifies
with the public key from the backend's JWKS (/api/auth/jwks).

Two kinds: the session token the browser holds (audience todo-api, 7 days), and the token the
backend makes for one chat turn (audiences todo-agent and todo-mcp, minutes), which is all the
ai-agent and the MCP server ever see of a user."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# scrypt cost: n=2**14, r=8, p=1 (16 MiB per hash), OWASP's minimum for scrypt
_N, _R, _P = 2**14, 8, 1
TOKEN_LIFETIME = timedelta(days=7)
TOOL_TOKEN_LIFETIME = timedelta(minutes=5)
ISSUER = "todo-backend"
API_AUDIENCE = "todo-api"
AGENT_AUDIENCE = "todo-agent"
MCP_AUDIENCE = "todo-mcp"


class InvalidToken(Exception):
    pass


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt),
                                n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


class SigningKey:
    """The backend's Ed25519 key, derived from BETTER_AUTH_SECRET: every replica has the same one
    and nothing new has to be stored; the secret itself never leaves the backend."""

    def __init__(self, secret: str):
        seed = HKDF(algorithm=SHA256(), length=32, salt=b"todo-backend", info=b"jwt-ed25519-v1").derive(secret.encode())
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        public = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.kid = hashlib.sha256(public).hexdigest()[:16]
        self.jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(public), "kid": self.kid, "alg": "EdDSA",
                    "use": "sig"}

    def jwks(self) -> dict:
        return {"keys": [self.jwk]}

    def sign(self, user_id: int, audience: str | list[str], lifetime: timedelta) -> str:
        now = datetime.now(UTC)
        claims = {"sub": str(user_id), "iat": now, "exp": now + lifetime, "iss": ISSUER, "aud": audience}
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})

    def session_token(self, user_id: int) -> str:
        return self.sign(user_id, API_AUDIENCE, TOKEN_LIFETIME)

    def tool_token(self, user_id: int) -> str:
        """For one chat turn: the ai-agent and the MCP server accept it, for minutes."""
        return self.sign(user_id, [AGENT_AUDIENCE, MCP_AUDIENCE], TOOL_TOKEN_LIFETIME)


def _public_keys(jwks: dict) -> dict[str, Ed25519PublicKey]:
    keys = {}
    for jwk in jwks.get("keys", []):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "x" in jwk:
            raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
            keys[jwk.get("kid", "")] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


class TokenVerifier:
    """Checks tokens for one audience against the backend's public keys: given (AUTH_JWKS, or the
    backend's own) or fetched from AUTH_JWKS_URL, again when a token names a key not seen yet."""

    REFETCH_SECONDS = 30.0

    def __init__(self, audience: str, jwks: dict | None = None, jwks_url: str | None = None):
        self.audience = audience
        self.jwks_url = jwks_url
        self._keys = _public_keys(jwks) if jwks else {}
        self._fetched_at = float("-inf")

    def _refresh(self) -> None:
        if not self.jwks_url or time.monotonic() - self._fetched_at < self.REFETCH_SECONDS:
            return
        self._fetched_at = time.monotonic()
        try:
            resp = httpx.get(self.jwks_url, timeout=5)
            resp.raise_for_status()
            self._keys = _public_keys(resp.json())
        except (httpx.HTTPError, ValueError, json.JSONDecodeError) as err:
            raise InvalidToken(f"cannot fetch the backend's keys from {self.jwks_url}: {err}") from err

    def user_id(self, token: str) -> int:
        """The user id a token was issued for; InvalidToken when forged, expired, for another audience or malformed."""
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
        except jwt.PyJWTError as err:
            raise InvalidToken(str(err)) from err
        if kid not in self._keys:
            self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("signed with a key the backend does not publish")
        try:
            claims = jwt.decode(token, key, algorithms=["EdDSA"], issuer=ISSUER, audience=self.audience,
                                options={"require": ["sub", "exp", "aud"]})
            return int(claims["sub"])
        except (jwt.PyJWTError, ValueError) as err:
            raise InvalidToken(str(err)) from err
