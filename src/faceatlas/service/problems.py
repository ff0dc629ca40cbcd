"""RFC 9457 problem details for every error a client can meet: one stable type per `errors.py` class, an HTTP
status from the same table, the message, and never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from faceatlas.errors import FaceAtlasError, problem_slug

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("faceatlas.service")


def problem_type(name: str) -> str:
    """The stable type URI of an error class or HTTP condition: `urn:faceatlas:problem:no-face-error`."""
    return "urn:faceatlas:problem:" + problem_slug(name)


def problem(status: int, kind: str, title: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"type": problem_type(kind), "title": title, "status": status, "detail": detail},
                        status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install(app: FastAPI) -> None:
    """Map FaceAtlas errors, HTTP errors, invalid requests and anything unexpected to problem+json responses."""

    @app.exception_handler(FaceAtlasError)
    async def faceatlas_error(_: Request, error: FaceAtlasError) -> JSONResponse:
        return problem(error.http_status, type(error).__name__, _first_sentence(type(error).__doc__ or ""),
                       str(error))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        return problem(error.status_code, f"Http{error.status_code}", str(error.detail), str(error.detail),
                       dict(error.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
        return problem(422, "InvalidRequest", "The request is not valid", detail)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")  # the traceback goes to the server's log, not to the client
        return problem(500, "InternalError", "Internal error", f"{type(error).__name__} (see the server log)")


def _first_sentence(text: str) -> str:
    """A docstring's first sentence, on one line: a problem's title."""
    words = " ".join(text.split())
    return words.split(". ")[0].split(": ")[0].rstrip(".")
