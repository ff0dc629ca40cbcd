"""Export and import of a collection: one JSON file (people, metadata, sample records) and one `.npz` beside it
(the embeddings, float32, in the JSON's sample order). Kept thumbnails travel in the JSON (base64 JPEG). For backups
and for moving a collection between databases."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from faceatlas.errors import GalleryError
from faceatlas.gallery.gallery import Gallery, NewSample
from faceatlas.gallery.results import TransferReport
from faceatlas.gallery.schema import Subject

FORMAT = "faceatlas.gallery.export"
VERSION = 1


def export_collection(gallery: Gallery, path: Path) -> TransferReport:
    """Write `path` (.json) and `path` with suffix .npz; returns counts."""
    path = Path(path).with_suffix(".json")
    people, vectors = [], []
    with Session(gallery.engine) as session:
        subjects = session.scalars(select(Subject).where(Subject.collection_id == gallery.collection_id)
                                   .order_by(Subject.name)).all()
        for subject in subjects:
            samples = []
            for sample in sorted(subject.samples, key=lambda s: s.id):
                thumbnail = base64.b64encode(sample.thumbnail.jpeg).decode() if sample.thumbnail else None
                samples.append({"quality": sample.quality, "box": sample.box, "source": sample.source,
                                "created": sample.created.isoformat(), "thumbnail": thumbnail})
                vectors.append(np.frombuffer(sample.embedding, np.float32))
            people.append({"name": subject.name, "meta": subject.meta, "samples": samples})
    document = {"format": FORMAT, "version": VERSION, "collection": gallery.collection_name,
                "model_id": gallery.model_id, "people": people}
    array = np.stack(vectors) if vectors else np.zeros((0, gallery.ndim), np.float32)
    _atomic_npz(path.with_suffix(".npz"), array)
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(json.dumps(document, indent=1))
    os.replace(temporary, path)
    return TransferReport(people=len(people), samples=len(array), json=str(path), npz=str(path.with_suffix(".npz")))


def import_collection(gallery: Gallery, path: Path) -> TransferReport:
    """Add the people and samples of an export to this gallery's collection (same embedding model required);
    people who already exist get the samples appended. One transaction: all or nothing."""
    path = Path(path).with_suffix(".json")
    try:
        document = json.loads(path.read_text())
        vectors = np.load(path.with_suffix(".npz"))["embeddings"]
    except (OSError, ValueError, KeyError) as error:
        raise GalleryError(f"{path}: not a readable gallery export ({error})") from None
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise GalleryError(f"{path}: not a version-{VERSION} FaceAtlas gallery export")
    if document["model_id"] != gallery.model_id:
        raise GalleryError(f"{path} holds embeddings of '{document['model_id']}', this collection uses "
                           f"'{gallery.model_id}'")
    expected = sum(len(p["samples"]) for p in document["people"])
    if len(vectors) != expected or (expected and vectors.shape[1:] != (gallery.ndim,)):
        raise GalleryError(f"{path}: {expected} sample records but {len(vectors)} embeddings of "
                           f"{gallery.ndim} dimensions")
    rows = iter(vectors)
    stored = []
    with gallery.writing() as session:
        for person in document["people"]:
            subject = gallery.subject_named(session, person["name"], person["meta"])
            stored += gallery._store(session, subject, [
                NewSample(next(rows), record["quality"], record["box"], record["source"],
                          base64.b64decode(record["thumbnail"]) if record.get("thumbnail") else None)
                for record in person["samples"]])
        gallery._committed(session, stored, "import", {"people": len(document["people"])})
    return TransferReport(people=len(document["people"]), samples=len(stored))


def _atomic_npz(path: Path, embeddings: np.ndarray) -> None:
    temporary = path.with_name(path.name + ".part.npz")
    np.savez(temporary, embeddings=embeddings)
    os.replace(temporary, path)
