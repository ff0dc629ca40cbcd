"""`faceatlas serve`: the HTTP API on uvicorn, bound to loopback unless told otherwise."""

from __future__ import annotations

from typing import Annotated

import typer

from faceatlas.cli.common import ProfileOption, ThreadsOption, console


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs): /v1/analyze, /v1/verify, /healthz, /readyz."""
    import uvicorn

    from faceatlas.service.app import create_app

    if host not in ("127.0.0.1", "::1", "localhost"):
        console.print(f"warning: listening on {host}: anyone who can reach it can use the API (no keys yet)")
    uvicorn.run(create_app(profile, threads), host=host, port=port, log_level="warning")
