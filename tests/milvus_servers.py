"""A throwaway Milvus server for the gallery tests: milvus-lite's own server (`milvus-lite server`) on a free local
port with a temporary data folder, stopped at the end. Several processes (the SIGKILL and concurrent-writer tests)
can use it at once, which an embedded milvus-lite folder does not allow. Skips with the reason when milvus-lite is
not installed (pip install 'faceatlas[milvus]')."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def milvus_server() -> Iterator[tuple[str, Path]]:
    """Yield the server's URI and its data folder."""
    pytest.importorskip("milvus_lite", reason="milvus-lite not installed (pip install 'faceatlas[milvus]')")
    pytest.importorskip("pymilvus", reason="pymilvus not installed (pip install 'faceatlas[milvus]')")
    data = Path(tempfile.mkdtemp(prefix="faceatlas-milvus-"))
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data), "--host",
                               "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"milvus-lite server exited: {server.stderr.read() if server.stderr else ''}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("milvus-lite server did not start within 60 s") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", data
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def milvus_standalone() -> Iterator[str]:
    """Milvus itself (PyPI's `milvus` distribution ships the standalone server with its etcd and storage) on a free
    local port with a temporary data folder: yield its URI. Skips with the reason when it is not installed."""
    standalone = pytest.importorskip("milvus", reason="the Milvus standalone server is not installed (pip install "
                                                       "'milvus==2.3.5')")
    pytest.importorskip("pymilvus", reason="pymilvus not installed (pip install 'faceatlas[milvus]')")
    data = Path(tempfile.mkdtemp(prefix="faceatlas-milvus-standalone-"))
    server = standalone.MilvusServer()
    server.set_base_dir(str(data))
    server.listen_port = _free_port()
    try:
        server.start()
        yield f"http://127.0.0.1:{server.listen_port}"
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
