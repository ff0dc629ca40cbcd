"""`faceatlas serve`: the HTTP API on uvicorn, bound to loopback unless told otherwise; `faceatlas serve keys` makes,
lists and revokes its API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from faceatlas.cli.common import ProfileOption, ThreadsOption, console, fail, output

MAX_CONNECTIONS = 128
"""Connections served at once; beyond them uvicorn answers 503 (with 32 MB bodies, at most about 4 GB in flight)."""

serve_app = typer.Typer(help="Serve the HTTP API; `keys` manages who may call it.")
keys_app = typer.Typer(help="API keys: each shown once when made, kept only as a hash.", no_args_is_help=True)
serve_app.add_typer(keys_app, name="keys")


@serve_app.callback(invoke_without_command=True)
def serve(
    context: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    profile: ProfileOption = None,
    threads: ThreadsOption = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs): /v1/analyze, /v1/verify with an API key;
    /healthz, /readyz."""
    if context.invoked_subcommand is not None:
        return
    import uvicorn

    from faceatlas.service.app import create_app

    if host not in ("127.0.0.1", "::1", "localhost"):
        console.print(f"listening on {host}: every client that can reach it and holds a key can use the API")
    # bodies are taken whole before they are parsed: at most this many connections at once bounds their memory
    uvicorn.run(create_app(profile, threads), host=host, port=port, log_level="warning",
                limit_concurrency=MAX_CONNECTIONS)


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="Who or what the key is for.")],
    scope: Annotated[list[str], typer.Option(help="analyze, identify, enrol, erase or admin (repeat for more).")],
    collection: Annotated[list[str] | None, typer.Option(help="A collection it may touch (repeat; '*' for all).")]
    = None,
) -> None:
    """Make a key and print it once: it is not stored, only its hash."""
    from faceatlas.service.keys import KeyStore

    try:
        key, token = KeyStore().create(name, scope, collection or ["default"])
    except ValueError as error:
        raise fail(error) from None
    console.print(f"key {key.id} for {key.name}: scopes {', '.join(key.scopes)}; collections "
                  f"{', '.join(key.collections)}. Keep it now, it is not shown again:")
    output.print(token, highlight=False)


@keys_app.command("list")
def list_keys() -> None:
    """Every key: id, name, scopes, collections, when made (never the key itself)."""
    from faceatlas.service.keys import KeyStore

    table = Table("id", "name", "scopes", "collections", "created")
    for key in KeyStore().listed():
        table.add_row(key.id, key.name, ", ".join(key.scopes), ", ".join(key.collections), key.created)
    output.print(table)


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[str, typer.Argument(help="The key's id (faceatlas serve keys list).")]) -> None:
    """Revoke a key: requests with it are refused from now on."""
    from faceatlas.service.keys import KeyStore

    if not KeyStore().revoke(key_id):
        raise fail(ValueError(f"no key with id {key_id!r}"))
    console.print(f"revoked {key_id}")
