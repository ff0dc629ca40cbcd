"""Who is calling: the request's API key (`Authorization: Bearer fa_...` or `X-API-Key`), checked against the
application's `KeyStore` (`app.state.keys`), or the web app's session cookie (`app.state.sessions`), whose changes
must carry its CSRF token (`X-CSRF-Token`); 401 without a valid key, 403 without the scope (for the collection,
where a route names one)."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request

from faceatlas.service.keys import ApiKey, KeyStore
from faceatlas.service.sessions import CHANGING

Collection = Annotated[str, Path(min_length=1, max_length=200, description="A collection of people.")]


async def identified(request: Request) -> ApiKey:
    """A dependency: the valid API key the request carries."""
    store: KeyStore = request.app.state.keys
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
    key = store.authenticate(token) if token else None
    if not token and (found := request.app.state.sessions.of(request, store)) is not None:
        session, key = found
        presented = request.headers.get("x-csrf-token", "")
        if request.method in CHANGING and not hmac.compare_digest(presented.encode(), session.csrf.encode()):
            raise HTTPException(403, "a change made with the session cookie needs its X-CSRF-Token header "
                                     "(GET /v1/session gives it)")
    if key is None:
        raise HTTPException(401, "a valid API key is needed: Authorization: Bearer fa_... (faceatlas serve keys "
                                 "create)", headers={"WWW-Authenticate": "Bearer"})
    return key


def require(key: ApiKey, scope: str, collection: str | None = None) -> ApiKey:
    """`key`, if it holds `scope` (for `collection`); 403 otherwise."""
    if not key.allows(scope, collection):
        where = f" in collection '{collection}'" if collection is not None else ""
        raise HTTPException(403, f"this key does not hold the scope '{scope}'{where}")
    return key


def scoped(scope: str) -> Any:
    """A dependency: the caller's key, if it holds `scope` for the collection the path names."""

    async def check(collection: Collection, key: ApiKey = Depends(identified)) -> ApiKey:
        return require(key, scope, collection)

    return Depends(check)


def holding(scope: str) -> Any:
    """A dependency: the caller's key, if it holds `scope` (a route that names no collection)."""

    async def check(key: ApiKey = Depends(identified)) -> ApiKey:
        return require(key, scope)

    return Depends(check)


Caller = Annotated[ApiKey, Depends(identified)]
Reading = Annotated[ApiKey, scoped("identify")]
Enrolling = Annotated[ApiKey, scoped("enrol")]
Erasing = Annotated[ApiKey, scoped("erase")]
Analyzing = Annotated[ApiKey, holding("analyze")]
Administering = Annotated[ApiKey, holding("admin")]
