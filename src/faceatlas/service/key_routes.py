"""API keys over HTTP, for keys holding the admin scope (the web app's Admin page): list, create (its token is
shown once, in the answer) and revoke. An admin key made for some collections sees and makes only keys within
them; each change is in the audit log with the admin key that made it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, Field

from faceatlas.service.auth import Administering
from faceatlas.service.keys import ALL_COLLECTIONS, SCOPES, ApiKey, KeyStore
from faceatlas.service.schemas import problems

KeyId = Annotated[str, Path(min_length=1, max_length=64, description="A key's id (fa_<id>_...).")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Scope = Literal[SCOPES]  # one of keys.SCOPES


class NewKey(BaseModel):
    name: Name = Field(description="Who or what the key is for.")
    scopes: list[Scope] = Field(min_length=1, max_length=len(SCOPES), description="What it may do.")
    collections: list[Name] = Field(min_length=1, max_length=100, description="Collections it may touch ('*': all).")


class KeyInfo(BaseModel):
    """A key without its secret."""

    id: str
    name: str
    scopes: list[str]
    collections: list[str]
    created: str


class MadeKey(BaseModel):
    key: KeyInfo
    token: str = Field(description="The key itself, shown this once: only its hash is kept.")


def router(store: KeyStore) -> APIRouter:
    routes = APIRouter(prefix="/v1/keys", tags=["keys"], responses=problems(400, 401, 403, 404, 408, 413, 422))

    @routes.get("")
    async def keys(admin: Administering) -> list[KeyInfo]:
        """The keys this admin key may manage."""
        return [info(k) for k in store.listed() if within(admin, k.collections)]

    @routes.post("", status_code=201)
    async def create(new: NewKey, admin: Administering) -> MadeKey:
        """Make a key; its token is in this answer only."""
        if not within(admin, tuple(new.collections)):
            raise HTTPException(403, "an admin key makes keys only for its own collections")
        key, token = store.create(new.name, list(new.scopes), new.collections)
        store.audit.record("key made over HTTP", admin.id, admin.name, made=key.id)
        return MadeKey(key=info(key), token=token)

    @routes.delete("/{key_id}", status_code=204, response_class=Response)
    async def revoke(key_id: KeyId, admin: Administering) -> Response:
        """Revoke a key: refused at once, its web sessions end."""
        target = next((k for k in store.listed() if k.id == key_id), None)
        if target is None or not within(admin, target.collections) or not store.revoke(key_id):
            raise HTTPException(404, f"no key {key_id}")
        store.audit.record("key revoked over HTTP", admin.id, admin.name, revoked=key_id)
        return Response(status_code=204)

    return routes


def within(admin: ApiKey, collections: tuple[str, ...]) -> bool:
    """Does `admin` hold every one of `collections`?"""
    return ALL_COLLECTIONS in admin.collections or set(collections) <= set(admin.collections)


def info(key: ApiKey) -> KeyInfo:
    return KeyInfo(id=key.id, name=key.name, scopes=list(key.scopes), collections=list(key.collections),
                   created=key.created)
