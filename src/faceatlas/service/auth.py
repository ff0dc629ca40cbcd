"""Who is calling: the request's API key (`Authorization: Bearer fa_...` or `X-API-Key`), checked against the
`KeyStore`; 401 without a valid key, 403 without the scope (for the collection, where a route names one)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request

from faceatlas.service.keys import ApiKey, KeyStore


def caller(store: KeyStore) -> Callable[[Request], Awaitable[ApiKey]]:
    """A dependency: the valid API key the request carries."""

    async def check(request: Request) -> ApiKey:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
        key = store.authenticate(token) if token else None
        if key is None:
            raise HTTPException(401, "a valid API key is needed: Authorization: Bearer fa_... (faceatlas serve keys "
                                     "create)", headers={"WWW-Authenticate": "Bearer"})
        return key

    return check


def require(key: ApiKey, scope: str, collection: str | None = None) -> ApiKey:
    """`key`, if it holds `scope` (for `collection`); 403 otherwise."""
    if not key.allows(scope, collection):
        where = f" in collection '{collection}'" if collection is not None else ""
        raise HTTPException(403, f"this key does not hold the scope '{scope}'{where}")
    return key
