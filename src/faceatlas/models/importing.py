"""`faceatlas models import`: a user's ONNX file, folder or zip of a model pack, recognised by SHA-256.

Each ONNX file found is hashed and looked up among the bundled cards and the table of known models
(`known-models.json`: id, task, architecture, licence, input and output spec, published figures):
- a bundled model's file is installed into the weight store (no download needed afterwards);
- a known model with an adapter in its task's registry is copied into the store and registered as a user card;
- a known model without an adapter is reported, not registered;
- an unknown file is introspected (its inputs and outputs) into a draft card under `FACEATLAS_HOME/cards/drafts/`,
  registered only once the user completes it (task, architecture, preprocessing, licence) and imports the file
  again with `--card`.
Nothing is taken from a file's name but the draft's suggestions; no shape is sniffed at run time. A file that is not
a valid ONNX model (text, truncated) or whose SHA-256 differs from the card it comes with is refused; one bad file
never stops the others.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from faceatlas.config import get_settings
from faceatlas.errors import FaceAtlasError, ModelIntegrityError, ModelUnavailableError
from faceatlas.io.files import private_folder, slug, write_atomically
from faceatlas.models.card import ModelCard, WeightSource
from faceatlas.models.registry import (
    bundled_card_path,
    check_onnx_file,
    known_models,
    list_cards,
    restricted_licence_of,
    user_cards_dir,
)
from faceatlas.models.store import cached_path, sha256_bytes

MAX_MEMBER_BYTES = 2_000_000_000
"""A zip member larger than this is refused before it is read (the largest face models are about 250 MB)."""

PACK_HINTS: dict[str, dict[str, object]] = {
    "det_10g": {"task": "detect", "architecture": "scrfd"},
    "det_2.5g": {"task": "detect", "architecture": "scrfd"},
    "det_500m": {"task": "detect", "architecture": "scrfd"},
    "w600k_r50": {"task": "recognise", "architecture": "arcface", "embedding_dim": 512},
    "w600k_mbf": {"task": "recognise", "architecture": "arcface", "embedding_dim": 512},
    "glintr100": {"task": "recognise", "architecture": "arcface", "embedding_dim": 512},
}
INSIGHTFACE_TERMS = {"licence": "InsightFace model licence: non-commercial research only",
                     "accept_licence": "insightface-non-commercial"}
"""What the files of InsightFace's packs (buffalo_l, buffalo_s, antelopev2) are, by name: suggestions written into a
draft card for the user to confirm, never trusted on their own."""

INSIGHTFACE_ARCFACE = {"color": "RGB", "mean": 127.5, "std": 127.5, "size": [112, 112],
                       "alignment": "ArcFace 5-point template"}
INSIGHTFACE_SCRFD = {"color": "RGB", "mean": 127.5, "std": 128.0, "size": "dynamic"}
_HINT_INPUTS = {"arcface": INSIGHTFACE_ARCFACE, "scrfd": INSIGHTFACE_SCRFD}

Outcome = Literal["installed", "registered", "no-adapter", "draft", "refused"]


@dataclass(frozen=True)
class Imported:
    """What became of one file: its name, SHA-256, the outcome, the card (if any) and a sentence for the user."""

    name: str
    sha256: str | None
    outcome: Outcome
    message: str
    card: ModelCard | None = None


HasAdapter = Callable[[ModelCard], bool]
"""Whether a card's task and architecture have an adapter in the pipeline's registries (`adapters.runs`)."""


def import_path(path: Path, has_adapter: HasAdapter, card_file: Path | None = None) -> list[Imported]:
    """Import every ONNX model in `path` (a file, a folder searched recursively, or a zip); with `card_file`, the
    file the card pins by SHA-256 (or the one file of `path`) is registered under that card."""
    path = Path(path)
    if not path.exists():
        raise ModelUnavailableError(f"{path} does not exist")
    card = ModelCard.from_file(card_file) if card_file is not None else None
    several = path.is_dir() or zipfile.is_zipfile(path)
    results = []
    for name, read in _onnx_members(path):
        try:
            try:
                data = read()
            except (OSError, zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError) as error:  # damaged
                raise ModelIntegrityError(f"{name} cannot be read ({type(error).__name__}: {error})") from None
            if card is not None and card.sha256 and several and sha256_bytes(data) != card.sha256:
                continue  # another file of the folder or pack: the card names one
            results.append(_import_one(path, name, data, has_adapter, card))
        except FaceAtlasError as error:
            results.append(Imported(name, None, "refused", str(error)))
    if not results:
        raise ModelUnavailableError(f"no .onnx file in {path}" + (" with the card's SHA-256" if card else ""))
    return results


def _onnx_members(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    if path.is_dir():
        for file in sorted(path.rglob("*.onnx")):
            if file.is_file() and not file.is_symlink():
                yield str(file), file.read_bytes
        return
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.filename.lower().endswith(".onnx") and not info.is_dir():
                    yield f"{path}:{info.filename}", lambda info=info: _zip_member(path, info)
        return
    yield str(path), path.read_bytes


def _zip_member(path: Path, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_MEMBER_BYTES:
        raise ModelIntegrityError(f"{info.filename} in {path} declares {info.file_size:,} bytes, more than "
                                  f"{MAX_MEMBER_BYTES:,}: refused")
    with zipfile.ZipFile(path) as archive, archive.open(info) as member:
        data = member.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise ModelIntegrityError(f"{info.filename} in {path} is larger than declared: refused")
    return data


def _import_one(origin: Path, name: str, data: bytes, has_adapter: HasAdapter, card: ModelCard | None
                ) -> Imported:
    inputs, outputs = _introspect(name, data)
    digest = sha256_bytes(data)
    if card is not None:
        if card.sha256 is not None and card.sha256 != digest:
            raise ModelIntegrityError(f"{name}: its SHA-256 {digest[:12]}… differs from the card's "
                                      f"{card.sha256[:12]}…: not the file the card describes")
        gate = restricted_licence_of(digest)
        if gate and card.accept_licence != gate:  # a user's card cannot lift the terms a known file is under
            card = card.model_copy(update={"accept_licence": gate})
        return _register(name, data, digest, card, has_adapter)
    bundled = next((c for c in list_cards() if c.source.path is None and c.sha256 == digest), None)
    if bundled is not None:
        return _install_bundled(name, data, bundled)
    entry = next((e for e in known_models() if e["sha256"] == digest), None)
    if entry is not None:
        card = ModelCard.model_validate(entry)
        if not has_adapter(card):
            return Imported(name, digest, "no-adapter", f"recognised as {card.id} ({card.task}, "
                            f"{card.architecture}, {card.licence}), but FaceAtlas has no {card.architecture} "
                            "adapter: not registered", card)
        return _register(name, data, digest, card, has_adapter)
    draft = _write_draft(name, digest, inputs, outputs)
    return Imported(name, digest, "draft", f"unknown model (SHA-256 {digest[:12]}…): complete the draft card "
                    f"{draft} (task, architecture, preprocessing, licence), then `faceatlas models import {origin} "
                    f"--card {draft}`")


def _introspect(name: str, data: bytes) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """The graph's image inputs and outputs (name, shape), after checking it is a valid ONNX model."""
    import onnx

    try:
        model = onnx.load_from_string(data)
        onnx.checker.check_model(model)
    except Exception as error:  # protobuf's DecodeError, onnx's ValidationError, ...
        raise ModelIntegrityError(f"{name} is not a valid ONNX model ({type(error).__name__}: "
                                  f"{str(error)[:200]})") from None
    initialisers = {tensor.name for tensor in model.graph.initializer}

    def shape(value: onnx.ValueInfoProto) -> list[object]:
        return [d.dim_value or d.dim_param or None for d in value.type.tensor_type.shape.dim]

    inputs = [{"name": v.name, "shape": shape(v)} for v in model.graph.input if v.name not in initialisers]
    return inputs, [{"name": v.name, "shape": shape(v)} for v in model.graph.output]


def _install_bundled(name: str, data: bytes, card: ModelCard) -> Imported:
    target = cached_path(card)
    private_folder(target.parent)
    write_atomically(target, data)
    return Imported(name, card.sha256, "installed", f"the bundled model {card.id} ({card.licence}): installed "
                    f"into {target}", card)


def _register(name: str, data: bytes, digest: str, card: ModelCard, has_adapter: HasAdapter) -> Imported:
    """Copy the file into the weight store and register `card` for it, pinned to its SHA-256."""
    if not has_adapter(card):
        raise ModelUnavailableError(f"{name}: the card's architecture '{card.architecture}' has no {card.task} "
                                    "adapter in FaceAtlas")
    if bundled_card_path(card.id).is_file():
        raise ModelUnavailableError(f"{name}: '{card.id}' is a bundled model id; choose another id")
    folder = private_folder(get_settings().models_dir)
    with tempfile.TemporaryDirectory(dir=folder) as staging:  # checked there before anything is replaced
        staged = write_atomically(Path(staging) / f"{card.id}.onnx", data)
        check_onnx_file(card.model_copy(update={"source": WeightSource(path=staged)}))
        target = folder / f"{card.id}.onnx"
        os.replace(staged, target)
    registered = card.model_copy(update={"sha256": digest, "size_bytes": len(data), "file_name": target.name,
                                         "source": WeightSource(path=target)})
    registered.to_file(private_folder(user_cards_dir()) / f"{card.id}.json")
    return Imported(name, digest, "registered", f"registered as {card.id} ({card.task}, {card.architecture}, "
                    f"{card.licence})", registered)


def _write_draft(name: str, digest: str, inputs: list[dict[str, object]], outputs: list[dict[str, object]]
                 ) -> Path:
    stem = Path(name.rsplit(":", 1)[-1]).stem
    hint = PACK_HINTS.get(stem, {})
    architecture = str(hint.get("architecture", "?"))
    draft = {"id": slug(stem) or "model", "task": hint.get("task", "?"), "architecture": architecture,
             "licence": "?", "accept_licence": None, **(INSIGHTFACE_TERMS if hint else {}), "sha256": digest,
             "input_spec": {"layout": "NCHW", **_HINT_INPUTS.get(architecture, {"color": "?", "mean": "?",
                                                                                  "std": "?", "size": "?"})},
             "output_spec": {}, "embedding_dim": hint.get("embedding_dim"),
             "introspected": {"inputs": inputs, "outputs": outputs},
             "notes": f"Draft from {name}. Fill every '?' (task: detect | recognise; architecture: a registered "
                      "adapter; licence: its terms, with accept_licence naming a licence to accept if it is "
                      "restrictive) and remove 'introspected'." + (" Suggested from InsightFace's pack file name: "
                                                                    "check it." if hint else "")}
    path = private_folder(user_cards_dir() / "drafts") / f"{draft['id']}.json"
    if path.exists() and json.loads(path.read_text()).get("sha256") == digest:
        return path  # drafted before, perhaps completed since: kept as it is
    if path.exists():
        path = path.with_name(f"{draft['id']}-{digest[:8]}.json")
    write_atomically(path, (json.dumps(draft, indent=2) + "\n").encode())
    return path
