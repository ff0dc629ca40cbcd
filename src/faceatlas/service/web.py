"""The web app of `faceatlas serve`: its page at `/` and its assets under `/web/` (plain HTML, CSS and JavaScript
modules from the `web` folder, nothing fetched from elsewhere), and its login: POST /v1/session exchanges an API key
for a session cookie (HttpOnly, SameSite=Strict), GET tells who is logged in with the CSRF token that changes made
with the cookie must carry, DELETE logs out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from faceatlas.service import key_routes
from faceatlas.service.auth import Caller
from faceatlas.service.keys import ApiKey, KeyStore
from faceatlas.service.schemas import problems
from faceatlas.service.sessions import COOKIE, Session, Sessions

WEB = Path(__file__).with_name("web")
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class Login(BaseModel):
    key: str = Field(min_length=1, max_length=200, description="An API key (fa_<id>_<secret>).")


class Who(BaseModel):
    """The key a session stands for, and the token its changes must carry (`X-CSRF-Token`)."""

    key_id: str
    name: str
    scopes: list[str]
    collections: list[str]
    csrf_token: str
    expires: str


def install(app: FastAPI, store: KeyStore) -> None:
    """The session and key routes, the page and its assets (after every other route: nothing is shadowed)."""
    sessions = Sessions()
    app.state.sessions = sessions
    app.include_router(session_routes(sessions, store))
    app.include_router(key_routes.router(store))

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(WEB / "index.html", headers=PAGE_HEADERS)

    app.mount("/web", StaticFiles(directory=WEB), name="web")


def session_routes(sessions: Sessions, store: KeyStore) -> APIRouter:
    routes = APIRouter(prefix="/v1/session", tags=["session"], responses=problems(400, 401, 403, 408, 413, 422))

    @routes.post("")
    async def login(login: Login, request: Request, response: Response) -> Who:
        """Log in with an API key: a session cookie for 12 hours, ended sooner by logging out or revoking the key."""
        key = store.authenticate(login.key.strip())
        if key is None:
            raise HTTPException(401, "not a valid API key (faceatlas serve keys create)")
        sessions.end(request.cookies.get(COOKIE, ""))  # a new id at each login
        session = sessions.start(key)
        response.set_cookie(COOKIE, session.id, max_age=int(sessions.lifetime), path="/", httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
        return who(session, key)

    @routes.get("")
    async def current(request: Request) -> Who:
        """Who is logged in, and the CSRF token for changes."""
        found = sessions.of(request, store)
        if found is None:
            raise HTTPException(401, "not logged in (POST /v1/session with an API key)")
        return who(*found)

    @routes.delete("", status_code=204, response_class=Response)
    async def logout(request: Request, _: Caller) -> Response:
        """Log out: the session ends and its cookie is cleared."""
        sessions.end(request.cookies.get(COOKIE, ""))
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
        return response

    return routes


def who(session: Session, key: ApiKey) -> Who:
    expires = datetime.fromtimestamp(session.expires, UTC).isoformat(timespec="seconds")
    return Who(key_id=key.id, name=key.name, scopes=list(key.scopes), collections=list(key.collections),
               csrf_token=session.csrf, expires=expires)
