"""Restrictive model licences: what each one allows, and the user's recorded acceptance of it.

A card naming a licence in `accept_licence` runs (and is fetched) only once that licence is accepted, either by
`faceatlas models accept-licence NAME` — recorded with the time and the user in `FACEATLAS_HOME/licences.json`
(0600) — or for services and CI by the setting `FACEATLAS_ACCEPT_LICENCES='["NAME"]'`. Results made with such a model
name the licence (`Faces.licences`, `Verification.licences`, the HTTP API's `FaceAtlas-Licence` header).
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from faceatlas.config import get_settings
from faceatlas.errors import LicenceNotAcceptedError
from faceatlas.io.files import private_folder, safe_name, write_atomically
from faceatlas.models.card import ModelCard


@dataclass(frozen=True)
class Licence:
    id: str
    title: str
    terms: str
    url: str


LICENCES: dict[str, Licence] = {licence.id: licence for licence in [
    Licence("insightface-non-commercial", "InsightFace pretrained models",
            "The weights InsightFace releases (buffalo_l, buffalo_s, antelopev2, SCRFD, ArcFace/WebFace600K models, "
            "2d106det) are available for non-commercial research purposes only.",
            "https://github.com/deepinsight/insightface#license"),
    Licence("celeba-spoof-non-commercial", "Models trained on CelebA-Spoof",
            "CelebA-Spoof may be used for non-commercial research purposes only; models trained on it inherit that "
            "restriction.", "https://github.com/ZhangYuanhan-AI/CelebA-Spoof"),
]}
"""Licences FaceAtlas knows. A user's card may name another (any safe name); it is gated all the same."""


@dataclass(frozen=True)
class Acceptance:
    licence: str
    accepted_at: str  # ISO 8601, UTC; "setting" when accepted through FACEATLAS_ACCEPT_LICENCES
    by: str


def _record_path() -> Path:
    return get_settings().home / "licences.json"


_READ: dict[Path, tuple[tuple[int, int], dict[str, Acceptance]]] = {}
"""The record as last read, by path, with its (mtime_ns, size): every model run checks it, so it is read again only
when it changes."""


def _recorded() -> dict[str, Acceptance]:
    path = _record_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}
    version = (stat.st_mtime_ns, stat.st_size)
    if path in _READ and _READ[path][0] == version:
        return _READ[path][1]
    try:
        recorded = {name: Acceptance(licence=name, accepted_at=str(fields["accepted_at"]), by=str(fields["by"]))
                    for name, fields in json.loads(path.read_text()).items()}
    except (ValueError, TypeError, KeyError, AttributeError):  # edited by hand into something else
        raise LicenceNotAcceptedError(f"{path} is not a licence record FaceAtlas wrote: remove it and accept the "
                                      "licences again") from None
    _READ[path] = (version, recorded)
    return recorded


def acceptances() -> dict[str, Acceptance]:
    """Every accepted licence: recorded by the command, or named in the setting."""
    accepted = {name: Acceptance(name, "setting", "FACEATLAS_ACCEPT_LICENCES")
                for name in get_settings().accept_licences}
    return {**accepted, **_recorded()}


def accept(name: str) -> Acceptance:
    """Record that the user accepts licence `name` (its terms are shown by the command before this)."""
    name = safe_name(name, "licence name")
    recorded = dict(_recorded())
    if name not in recorded:
        recorded[name] = Acceptance(name, datetime.now(UTC).isoformat(timespec="seconds"), getpass.getuser())
        _write(recorded)
    return recorded[name]


def withdraw(name: str) -> bool:
    """Forget a recorded acceptance; True if there was one."""
    recorded = dict(_recorded())
    if recorded.pop(name, None) is None:
        return False
    _write(recorded)
    return True


def _write(recorded: dict[str, Acceptance]) -> None:
    private_folder(_record_path().parent)
    fields = {n: {"accepted_at": a.accepted_at, "by": a.by} for n, a in recorded.items()}
    write_atomically(_record_path(), (json.dumps(fields, indent=2) + "\n").encode())


def require_accepted(card: ModelCard) -> None:
    """`LicenceNotAcceptedError` unless the card's restrictive licence (if any) is accepted."""
    name = card.accept_licence
    if name is None or name in acceptances():
        return
    known = LICENCES.get(name)
    terms = f" {known.title}: {known.terms} ({known.url})." if known else ""
    raise LicenceNotAcceptedError(
        f"model '{card.id}' is under the licence '{name}'.{terms} Accept it with `faceatlas models accept-licence "
        f"{name}` (recorded in {_record_path()}) or the setting FACEATLAS_ACCEPT_LICENCES='[\"{name}\"]'")


def require_all_accepted(names: tuple[str, ...]) -> None:
    """`LicenceNotAcceptedError` naming the first of these licences that is not accepted."""
    accepted = acceptances()
    missing = [name for name in names if name not in accepted]
    if missing:
        raise LicenceNotAcceptedError(f"the licence '{missing[0]}' is not accepted: `faceatlas models "
                                      f"accept-licence {missing[0]}`")


def licences_of(cards: list[ModelCard]) -> tuple[str, ...]:
    """The restrictive licences `cards` run under, sorted, each once."""
    return tuple(sorted({c.accept_licence for c in cards if c.accept_licence}))


@lru_cache(maxsize=64)
def licences_of_models(model_ids: tuple[str, ...]) -> tuple[str, ...]:
    """`licences_of` the cards of these model ids (cached: heads ask for every picture)."""
    from faceatlas.models.registry import get_card

    return licences_of([get_card(m) for m in model_ids])
