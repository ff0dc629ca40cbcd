"""Files that hold faces or templates: private (0600 files in 0700 folders, whatever the umask), written atomically
(a unique temporary file opened exclusively in the same folder, fsync, rename: never through a symbolic link, never
half-written), under the folder they belong in, and named only from strings that match a strict pattern."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

PRIVATE_FILE, PRIVATE_FOLDER = 0o600, 0o700

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
"""What an identifier that becomes part of a file name may be (a model id, a collection name): letters, digits,
`_`, `.`, `-`, starting with a letter or digit, no `..`, at most 100 characters."""

TEMPORARY_SUFFIX = ".tmp"
LEFTOVER_AGE_S = 600.0
"""A temporary file this old is a leftover of a killed writer (a write takes seconds): removed when found."""


def safe_name(name: object, what: str) -> str:
    """`name` if it may become part of a file name (`NAME_PATTERN`), else a `ValueError` naming `what` it is."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or ".." in name:
        raise ValueError(f"{what} {name!r} is not allowed: use letters, digits, '_', '.' and '-' (up to 100, "
                         "starting with a letter or digit, no '..')")
    return name


def slug(text: str, limit: int = 80) -> str:
    """`text` made safe as part of a file name: every character but ASCII letters, digits, '.', '_' and '-'
    replaced by '_', no leading dot, at most `limit` characters."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:limit].lstrip(".") or "_"


def private_output(path: Path) -> TextIO:
    """A user's output file (which may hold faces or embeddings) opened for writing text as a private file (0600);
    a link at `path` is refused (`OSError`), never followed."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE_FILE)
    os.fchmod(descriptor, PRIVATE_FILE)
    return os.fdopen(descriptor, "w", encoding="utf-8")


def inside(root: Path, path: Path) -> Path:
    """`path`, resolved, after checking that it stays under `root` (a `ValueError` otherwise)."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ValueError(f"{path} is outside {root}")
    return resolved


def private_folder(path: Path) -> Path:
    """`path` as a folder, made (with its missing parents) 0700 if it did not exist; an existing folder is left as
    its owner set it."""
    missing = []
    current = Path(path)
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=PRIVATE_FOLDER)
            os.chmod(folder, PRIVATE_FOLDER)  # mkdir's mode is masked by the umask
    return Path(path)


def make_private(folder: Path) -> None:
    """Make everything under `folder` (ours: a library's data folder such as milvus-lite's, written with the umask)
    private: folders 0700, files 0600; links are left alone, never followed."""
    for root, folders, files in os.walk(folder):
        for name in [*folders, *files]:
            path = Path(root, name)
            if not path.is_symlink():
                os.chmod(path, PRIVATE_FOLDER if path.is_dir() else PRIVATE_FILE)
    if not Path(folder).is_symlink():
        os.chmod(folder, PRIVATE_FOLDER)


def private_file(path: Path) -> Path:
    """`path` created empty and 0600 if it does not exist (so that what a library such as SQLite then writes into it,
    and its journals, are private); never follows a symbolic link to create it."""
    with contextlib.suppress(FileExistsError):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE)
        os.fchmod(descriptor, PRIVATE_FILE)
        os.close(descriptor)
    return Path(path)


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[tuple[int, str]]:
    """A unique temporary file beside `path`, created exclusively (no link followed), as its open descriptor and
    name: renamed over `path` when the block ends (a link at `path` is replaced, not followed), removed if it
    raises. The block closes the descriptor."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        yield descriptor, temporary
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_atomically(path: Path, content: bytes | Callable[[BinaryIO], None]) -> Path:
    """Write `content` (bytes, or a function writing to a binary file) to `path` as a private file: into a unique
    temporary file in the same folder, flushed to disk, then renamed over `path`. A kill leaves either the old file
    or the new one."""
    path = Path(path)
    with _replacing(path) as (descriptor, _):
        os.fchmod(descriptor, PRIVATE_FILE)
        with os.fdopen(descriptor, "wb") as handle:
            if isinstance(content, bytes | bytearray):
                handle.write(content)
            else:
                content(handle)
            handle.flush()
            os.fsync(handle.fileno())
    return path


def written_by(path: Path, write: Callable[[str], None]) -> Path:
    """`path` written atomically by a library that only writes to a path it is given (`write(temporary_path)`)."""
    path = Path(path)
    with _replacing(path) as (descriptor, temporary):
        os.close(descriptor)
        write(temporary)
        os.chmod(temporary, PRIVATE_FILE)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
    return path


def remove_leftovers(folder: Path, names: Iterable[str], older_than_s: float = LEFTOVER_AGE_S) -> int:
    """Remove the temporary files `write_atomically` left for these file names in `folder` (a killed writer's);
    only those older than `older_than_s`, so a write in progress is not disturbed. How many were removed."""
    removed, now = 0, time.time()
    for name in names:
        for leftover in Path(folder).glob(f".{glob_escape(name)}.*{TEMPORARY_SUFFIX}"):
            with contextlib.suppress(OSError):
                if now - leftover.lstat().st_mtime > older_than_s:
                    leftover.unlink()
                    removed += 1
    return removed


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's content, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def traces_in(paths: Iterable[Path], traces: Iterable[bytes], block: int = 1 << 24) -> int:
    """How many of `traces` (byte strings) occur in any of the files at `paths`: the proof an erasure is complete
    (files are read a block at a time, blocks overlapping by the longest trace)."""
    wanted = {bytes(trace) for trace in traces if trace}
    found: set[bytes] = set()
    overlap = max((len(trace) for trace in wanted), default=0)
    for path in paths:
        with contextlib.suppress(FileNotFoundError), open(path, "rb") as handle:
            tail = b""
            while wanted - found and (chunk := handle.read(block)):
                window = tail + chunk
                found |= {trace for trace in wanted - found if trace in window}
                tail = window[-overlap:]
    return len(found)


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)
