"""Attacks on a gallery and the mistakes of a careless operator, each returning what happened: used by
`test_trust.py` (which asserts every one is refused and changes nothing) and by `benchmarks/trust_attacks.py` (which
prints the figures)."""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceatlas.errors import FaceAtlasError
from faceatlas.gallery import Gallery
from faceatlas.gallery.transfer import export_collection, import_collection, record_digest


@dataclass
class Attempt:
    """One attack: whether it was refused (with what error) and whether the gallery came out unchanged."""

    attack: str
    refused: bool
    error: str
    unchanged: bool


def snapshot(gallery: Gallery, probes: list[Path]) -> tuple:
    """What an attack must not change: the people, their sample counts, and every probe's identification."""
    people = tuple((p.name, p.samples) for p in gallery.people())
    decisions = tuple(tuple((r.decision, tuple((c.name, round(c.score, 5)) for c in r.candidates))
                            for r in gallery.identify(probe)) for probe in probes)
    return people, decisions


def attempt(name: str, gallery: Gallery, probes: list[Path], action: Callable[[], object]) -> Attempt:
    before = snapshot(gallery, probes)
    try:
        action()
        refused, error = False, ""
    except (FaceAtlasError, ValueError) as caught:
        refused, error = True, f"{type(caught).__name__}: {caught}"
    return Attempt(name, refused, error, snapshot(gallery, probes) == before)


def crafted_exports(gallery: Gallery, folder: Path) -> dict[str, Path]:
    """Exports of `gallery` altered as an attacker or a broken disk would: each a path to import."""
    genuine = export_collection(gallery, folder / "genuine")
    document = json.loads(Path(genuine.json).read_text())
    with np.load(genuine.npz) as saved:
        vectors = saved["embeddings"]
    first = document["people"][0]
    attacker = 50.0 * vectors.mean(axis=0)  # "everyone's nearest": scores above every honest face

    def variant(name: str, embeddings: np.ndarray, doc: dict | None = None, redigest: bool = True) -> Path:
        doc = json.loads(json.dumps(doc or document))
        if redigest:  # the digest is not a signature: an attacker can recompute it, so vectors are checked too
            for row, record in enumerate(doc["people"][0]["samples"][:1]):
                record["digest"] = record_digest(doc["people"][0]["name"], embeddings[row], record)
        path = folder / name
        path.with_suffix(".json").write_text(json.dumps(doc))
        np.savez(path.with_suffix(".npz"), embeddings=embeddings)
        return path

    def with_first(row: np.ndarray) -> np.ndarray:
        out = vectors.astype(row.dtype, copy=True)
        out[0] = row
        return out

    unit = np.zeros(vectors.shape[1], np.float32)
    unit[0] = 1.0
    other = unit.copy()
    other[:2] = [0.6, 0.8]
    def first_record(**fields: object) -> dict:
        doc = json.loads(json.dumps(document))
        doc["people"][0]["samples"][0].update(fields)
        return doc

    script = base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>").decode()
    truncated = folder / "truncated-json"
    truncated.with_suffix(".json").write_text(Path(genuine.json).read_text()[:-200])
    shutil.copy(genuine.npz, truncated.with_suffix(".npz"))
    return {
        "non-unit vector (50x the mean direction)": variant("non-unit", with_first(attacker.astype(np.float32))),
        "NaN in a vector": variant("nan", with_first(np.full(vectors.shape[1], np.nan, np.float32))),
        "int32 vector (unit length)": variant("int", with_first(unit.astype(np.int32))),
        "complex vector (unit length)": variant("complex", with_first(unit.astype(np.complex64))),
        "wrong dimension (64)": variant("dimension", vectors[:, :64] / np.linalg.norm(vectors[:, :64], axis=1,
                                                                                       keepdims=True)),
        "another model's id": variant("model", vectors, {**document, "model_id": "dlib-resnet-v1"}),
        "another file of the same model (sha256)": variant("sha", vectors, {**document, "model_sha256": "0" * 64}),
        "one embedding too few (truncated .npz)": variant("short", vectors[:-1], redigest=False),
        "truncated .json": truncated,
        "quality out of [0, 1] (7.5)": variant("quality", vectors, first_record(quality=7.5)),
        "box of three numbers": variant("box", vectors, first_record(box=[0.0, 0.0, 1.0])),
        "thumbnail that is not a JPEG (SVG with a script)": variant("svg", vectors, first_record(thumbnail=script)),
        "altered vector, stale digest": variant("tampered", with_first(other), redigest=False),
        "altered name, stale digest": variant("renamed", vectors, {**document, "people": [
            {**first, "name": first["name"] + " (the attacker)"}, *document["people"][1:]]}, redigest=False),
    }


def poisoning(gallery: Gallery, probes: list[Path], folder: Path) -> list[Attempt]:
    """Every crafted export imported, and a non-unit vector added straight through the API."""
    attempts = [attempt(name, gallery, probes, lambda path=path: import_collection(gallery, path))
                for name, path in crafted_exports(gallery, folder).items()]
    loud = np.full((1, gallery.ndim), 1.0, np.float32)  # length sqrt(128)
    attempts.append(attempt("non-unit vector through add_faces", gallery, probes,
                            lambda: gallery.add_faces("mallory", loud, [0.9], [[0, 0, 1, 1]], ["x"])))
    unit = loud / np.linalg.norm(loud)
    attempts.append(attempt("NaN box through add_faces", gallery, probes,
                            lambda: gallery.add_faces("mallory", unit, [0.9], [[0, float("nan"), 1, 1]], ["x"])))
    return attempts


def files_outside(root: Path, before: set[Path]) -> set[Path]:
    """Files under `root` that were not there before (what an attack wrote outside where it may)."""
    return {path for path in root.rglob("*") if path.is_file()} - before


def modes(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` with its permission bits, as octal text."""
    return {str(path.relative_to(folder)) or ".": oct(os.stat(path).st_mode & 0o777)
            for path in [folder, *folder.rglob("*")]}
