"""A throwaway PostgreSQL server for the gallery tests: `initdb` into a temporary folder, listening on a Unix socket
only, stopped at the end. Runs as the `postgres` user when the tests run as root (the server refuses root). Skips
with the reason when no PostgreSQL server binaries are installed (Debian: `apt-get install postgresql`)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _binaries() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh, empty database on a private server."""
    binaries = _binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg not installed (pip install 'faceatlas[postgres]')")
    root = Path(tempfile.mkdtemp(prefix="faceatlas-pg-"))
    root.chmod(0o777)
    data, socket = root / "data", root
    run = {"check": True, "capture_output": True, "text": True}
    subprocess.run(_as_server_user([str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
                   **run)
    options = f"-k {socket} -c listen_addresses='' -c fsync=on"
    subprocess.run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l",
                                    str(root / "log"), "start"]), **run)
    try:
        subprocess.run(_as_server_user([str(binaries / "createdb"), "-h", str(socket), "-U", "postgres",
                                        "faceatlas"]), **run)
        yield f"postgresql+psycopg://postgres@/faceatlas?host={socket}"
    finally:
        subprocess.run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def new_database(server: str) -> str:
    """The URL of a new, empty database on the server of `postgres_server`'s URL (one per test: no shared rows)."""
    from sqlalchemy import create_engine, text

    name = f"t{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.replace("/faceatlas?", "/postgres?"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server.replace("/faceatlas?", f"/{name}?")
