"""`faceatlas serve` as the tests meet it: a real server process on a free loopback port, keys made by the CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from faceatlas.client import local_server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_key(keys: Path, *scopes: str, collection: str = "default") -> str:
    """A key made with `faceatlas serve keys create` into the key file `keys`: the token it printed once."""
    made = subprocess.run([sys.executable, "-m", "faceatlas.cli", "serve", "keys", "create", "tests",
                           *(f"--scope={s}" for s in scopes), f"--collection={collection}"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "FACEATLAS_API_KEYS": str(keys)}, check=True)
    return made.stdout.strip()


class Server(str):
    """A running server's URL, knowing its process id and the file its output goes to."""

    pid: int
    log: Path


@contextmanager
def running_server(keys: Path, **settings: str) -> Iterator[Server]:
    """`faceatlas serve` on a free loopback port with this key file and these FACEATLAS_* settings, once ready: its
    URL (its output in a file beside the keys)."""
    env = {**os.environ, "FACEATLAS_API_KEYS": str(keys),
           **{f"FACEATLAS_{name.upper()}": value for name, value in settings.items()}}
    log = keys.parent / f"server-{len(list(keys.parent.glob('server-*.log')))}.log"
    with local_server(log, env) as started:  # one that never gets ready is a ServiceError with its log
        url = Server(started.url)
        url.pid, url.log = started.pid, started.log
        yield url


def upload(path: Path) -> tuple[str, bytes, str]:
    return (path.name, path.read_bytes(), "application/octet-stream")
