"""API keys: ``Authorization: Bearer <key>`` checked against ``RAG_API_KEYS``; no keys → loopback only.

Without keys anyone who can reach the port could use the model, so the servers refuse to listen on
anything but 127.0.0.1 / ::1 / localhost then. Keys are compared in constant time.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rag.errors import ConfigError
from rag.serve.errors import ApiError

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def check_bind(host: str, keys: Sequence[str]) -> None:
    """Refuse to listen beyond this machine without API keys."""
    if not keys and host not in LOOPBACK:
        raise ConfigError(
            f"refusing to listen on {host} without API keys: anyone who can reach it could use the service",
            "set RAG_API_KEYS=key1,key2 (clients send `Authorization: Bearer key1`), or listen on 127.0.0.1",
        )


def key_matches(given: str, keys: Sequence[str]) -> bool:
    """Whether ``given`` is one of ``keys`` (constant-time per key)."""
    return any(secrets.compare_digest(given.encode(), k.encode()) for k in keys)


def require_key(keys: Sequence[str]) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency: 401 unless the request carries one of ``keys`` (no keys: open)."""
    bearer = HTTPBearer(auto_error=False)

    async def check(request: Request) -> None:
        if not keys:
            return
        creds: HTTPAuthorizationCredentials | None = await bearer(request)
        if creds is None:
            raise ApiError(401, "missing API key: send the header `Authorization: Bearer <key>` "
                                "(the keys are set on the server in RAG_API_KEYS)", code="missing_api_key",
                           headers={"WWW-Authenticate": "Bearer"})
        if not key_matches(creds.credentials, keys):
            raise ApiError(401, "invalid API key", code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})

    return check
