"""Export and import of a collection: one JSON file (people, metadata, sample records) and one `.npz` beside it
(the embeddings, float32, in the JSON's sample order). Kept thumbnails travel in the JSON (base64 JPEG). For backups
and for moving a collection between databases.

Both files are private (0600) and written atomically. Each sample record carries the SHA-256 of its person's name,
its embedding's bytes and its other fields, so an import refuses an export that was truncated or altered, record by
record; it is all or nothing, and names every record it refuses and why (besides the checks every stored vector
passes: `Gallery._store`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from faceatlas.errors import GalleryError
from faceatlas.gallery.gallery import Gallery
from faceatlas.gallery.results import TransferReport
from faceatlas.gallery.samples import NewSample
from faceatlas.gallery.schema import AuditEntry, Subject
from faceatlas.gallery.store import raises_store_errors
from faceatlas.io.files import write_atomically

FORMAT = "faceatlas.gallery.export"
VERSION = 2
REFUSALS_SHOWN = 10
"""An import refused names this many of the records it refused (and counts the rest)."""


class SampleRecord(BaseModel):
    quality: float | None
    box: list[float]
    source: str
    created: str
    thumbnail: str | None = None
    digest: str


class PersonRecord(BaseModel):
    name: str
    meta: dict[str, Any]
    samples: list[SampleRecord]


class ExportDocument(BaseModel):
    format: str
    version: int
    collection: str
    model_id: str
    model_sha256: str | None
    people: list[PersonRecord]


def record_digest(name: str, vector: np.ndarray, fields: dict[str, Any]) -> str:
    """The SHA-256 tying a sample record to its person's name, its fields and its embedding's bytes."""
    quality = fields.get("quality")
    body = json.dumps({"name": name, "quality": None if quality is None else float(quality),
                       "box": [float(v) for v in fields.get("box") or []], "source": fields.get("source"),
                       "created": fields.get("created"), "thumbnail": fields.get("thumbnail")}, sort_keys=True)
    return hashlib.sha256(body.encode() + b"\0" + np.ascontiguousarray(vector).tobytes()).hexdigest()


@raises_store_errors
def export_collection(gallery: Gallery, path: Path) -> TransferReport:
    """Write `path` (.json) and `path` with suffix .npz, both 0600; returns counts."""
    path = Path(path).with_suffix(".json")
    people, vectors = [], []
    with Session(gallery.engine) as session:
        subjects = session.scalars(select(Subject).where(Subject.collection_id == gallery.collection_id)
                                   .order_by(Subject.name)).all()
        for subject in subjects:
            samples = []
            for sample in sorted(subject.samples, key=lambda s: s.id):
                vector = np.frombuffer(sample.embedding, np.float32)
                fields = {"quality": sample.quality, "box": sample.box, "source": sample.source,
                          "created": sample.created.isoformat(),
                          "thumbnail": base64.b64encode(sample.thumbnail.jpeg).decode() if sample.thumbnail else None}
                samples.append({**fields, "digest": record_digest(subject.name, vector, fields)})
                vectors.append(vector)
            people.append({"name": subject.name, "meta": subject.meta, "samples": samples})
    document = {"format": FORMAT, "version": VERSION, "collection": gallery.collection_name,
                "model_id": gallery.model_id, "model_sha256": gallery.model_sha256,
                "people": people}
    array = np.stack(vectors) if vectors else np.zeros((0, gallery.ndim), np.float32)
    npz = io.BytesIO()
    np.savez(npz, embeddings=array)
    write_atomically(path.with_suffix(".npz"), npz.getvalue())
    write_atomically(path, json.dumps(document, indent=1).encode())
    with Session(gallery.engine) as session:  # remembered, so an erasure can say which exports still hold a person
        session.add(AuditEntry(collection_id=gallery.collection_id, action="export",
                               detail={"files": [str(path.resolve()), str(path.with_suffix(".npz").resolve())]}))
        session.commit()
    return TransferReport(people=len(people), samples=len(array), json=str(path), npz=str(path.with_suffix(".npz")))


@raises_store_errors
def import_collection(gallery: Gallery, path: Path) -> TransferReport:
    """Add the people and samples of an export to this gallery's collection (same embedding model and file
    required); people who already exist get the samples appended. All or nothing: a refused record refuses the
    import, and the error names the records and why."""
    path = Path(path).with_suffix(".json")
    document, vectors = _read(path)
    if document.model_id != gallery.model_id or (document.model_sha256 or gallery.model_sha256) \
            != gallery.model_sha256:
        raise GalleryError(f"{path} holds embeddings of '{document.model_id}' (sha256 {document.model_sha256}), "
                           f"this collection uses '{gallery.model_id}' (sha256 {gallery.model_sha256})")
    expected = sum(len(person.samples) for person in document.people)
    if len(vectors) != expected:
        raise GalleryError(f"{path}: {expected} sample records but {len(vectors)} embeddings (truncated?)")
    refused, rows = [], iter(vectors)
    for person in document.people:
        for number, record in enumerate(person.samples):
            vector = next(rows)
            reason = _refusal(gallery, person.name, vector, record)
            if reason:
                refused.append(f"{person.name!r} sample {number}: {reason}")
    if refused:
        more = f" (and {len(refused) - REFUSALS_SHOWN} more)" if len(refused) > REFUSALS_SHOWN else ""
        raise GalleryError(f"{path}: {len(refused)} of {expected} records refused, nothing imported: "
                           + "; ".join(refused[:REFUSALS_SHOWN]) + more)
    rows = iter(vectors)
    stored = []
    with gallery.writing() as session:
        for person in document.people:
            subject = gallery.subject_named(session, person.name, person.meta)
            stored += gallery._store(session, subject, [_sample(next(rows), record) for record in person.samples])
        gallery._committed(session, stored, "import", {"people": len(document.people)})
    return TransferReport(people=len(document.people), samples=len(stored))


def _read(path: Path) -> tuple[ExportDocument, np.ndarray]:
    """The export's document (its structure checked) and embeddings, or a `GalleryError` saying what is wrong."""
    try:
        document = ExportDocument.model_validate_json(path.read_bytes())
        with np.load(path.with_suffix(".npz"), allow_pickle=False) as saved:
            vectors = saved["embeddings"]
    except ValidationError as error:
        first = error.errors()[0]
        raise GalleryError(f"{path}: not a readable gallery export ({error.error_count()} problem(s); "
                           f"{'.'.join(map(str, first['loc'])) or 'the document'}: {first['msg']})") from None
    except (OSError, ValueError, KeyError, EOFError) as error:
        raise GalleryError(f"{path}: not a readable gallery export ({type(error).__name__}: {error})") from None
    if document.format != FORMAT or document.version != VERSION:
        raise GalleryError(f"{path}: not a version-{VERSION} FaceAtlas gallery export")
    if vectors.ndim != 2:
        raise GalleryError(f"{path}: embeddings of shape {vectors.shape}, not one row per sample")
    return document, vectors


def _refusal(gallery: Gallery, name: str, vector: np.ndarray, record: SampleRecord) -> str | None:
    """Why this record may not be imported (a digest that does not match, a sample the store refuses), or None."""
    if record.digest != record_digest(name, vector, record.model_dump()):
        return "its digest does not match its name, embedding and fields (altered or truncated)"
    try:
        sample = _sample(vector, record)
    except (binascii.Error, ValueError):
        return "its thumbnail is not base64"
    return gallery.sample_problem(sample)


def _sample(vector: np.ndarray, record: SampleRecord) -> NewSample:
    thumbnail = base64.b64decode(record.thumbnail, validate=True) if record.thumbnail is not None else None
    return NewSample(vector, record.quality, record.box, record.source, thumbnail)
