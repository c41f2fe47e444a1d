"""Secrets the API issues or checks: API tokens, password hashes, session JWTs."""

import hashlib
import hmac
import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import jwt
from anyio import CapacityLimiter
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

TOKEN_PREFIX = "dex_"
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "data-engine-x"
JWT_AUDIENCE = "data-engine-x.api"

_password_hash = PasswordHash((Argon2Hasher(),))
# verified when the email is unknown, so a login takes as long whether or not the user exists
_DUMMY_HASH = _password_hash.hash(secrets.token_urlsafe(16))


def generate_api_token() -> str:
    # 32 bytes of entropy: a plain SHA-256 is then a safe storage hash (no brute force possible)
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_display_prefix(token: str) -> str:
    return token[: len(TOKEN_PREFIX) + 6]


def looks_like_api_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _password_hash.verify(password, _DUMMY_HASH)
        return False
    try:
        return _password_hash.verify(password, password_hash)
    except UnknownHashError:
        return False


# An Argon2 hash or check takes ~100 ms of CPU (and 64 MiB). On the event loop it stalls every
# other request, so it runs in worker threads (argon2-cffi releases the GIL). Its own small
# limiter, not anyio's shared default of 40 threads: a login flood queues here, bounded by the
# cores, and never takes the threads other blocking work needs.
PASSWORD_HASH_SLOTS = max(1, min(4, os.cpu_count() or 1))
_hash_slots: CapacityLimiter | None = None


def _slots() -> CapacityLimiter:
    global _hash_slots
    if _hash_slots is None:
        _hash_slots = CapacityLimiter(PASSWORD_HASH_SLOTS)
    return _hash_slots


async def hash_password_off_loop(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password, password, limiter=_slots())


async def verify_password_off_loop(password: str, password_hash: str | None) -> bool:
    """`verify_password` in a worker thread; an unknown user costs the same (the dummy hash)."""
    return await anyio.to_thread.run_sync(verify_password, password, password_hash, limiter=_slots())


def issue_jwt(*, user_id: uuid.UUID, org_id: uuid.UUID, secret: str, ttl_seconds: int) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "org_id": str(org_id),
        "iss": JWT_ISSUER,
        "aud": JWT_AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


def decode_jwt(token: str, secret: str) -> dict[str, Any] | None:
    """Returns the claims, or None for any invalid token; the algorithm is pinned so `none`
    and algorithm-confusion tokens are rejected."""
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            audience=JWT_AUDIENCE,
            issuer=JWT_ISSUER,
            options={"require": ["sub", "exp", "iat", "iss", "aud"]},
        )
    except jwt.PyJWTError:
        return None
