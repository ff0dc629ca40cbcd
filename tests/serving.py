"""`faceatlas serve` as the tests meet it: a real server process on a free loopback port, keys made by the CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


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
    URL. Its output goes to a file beside the keys (a pipe nobody reads would block it once full)."""
    port = free_port()
    env = {**os.environ, "FACEATLAS_API_KEYS": str(keys),
           **{f"FACEATLAS_{name.upper()}": value for name, value in settings.items()}}
    url = Server(f"http://127.0.0.1:{port}")
    url.log = keys.parent / f"server-{port}.log"
    with url.log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "faceatlas.cli", "serve", "--port", str(port)], env=env,
                                   stdout=output, stderr=subprocess.STDOUT)
    url.pid = process.pid
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, url.log.read_text()
            time.sleep(0.3)
        else:
            pytest.fail("the server did not become ready in 120 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def upload(path: Path) -> tuple[str, bytes, str]:
    return (path.name, path.read_bytes(), "application/octet-stream")
