"""What gallery operations return: typed results with `to_dict()`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faceatlas.results import Result


@dataclass
class Refusal(Result):
    """A photo (or face) not enrolled, and why."""

    source: str
    reason: str


@dataclass
class EnrollReport(Result):
    subject: str
    added: list[int] = field(default_factory=list)  # sample ids
    rejected: list[Refusal] = field(default_factory=list)


@dataclass
class Candidate(Result):
    name: str
    score: float


@dataclass
class Identification(Result):
    """One face of a probe image: the best people, and the decision at the calibrated threshold."""

    box: list[float]
    candidates: list[Candidate]
    decision: str | None  # a name, or None: "unknown"
    threshold: float
    fmr: float
    quality: float | None = None
    insufficient_quality: bool = False
    licences: tuple[str, ...] = ()  # restrictive licences of the models that made the decision

    def to_dict(self) -> dict[str, Any]:
        record = {"box": self.box, "decision": self.decision if self.decision else "unknown",
                  "candidates": [{"name": c.name, "score": round(c.score, 4)} for c in self.candidates],
                  "threshold": round(self.threshold, 6), "fmr": self.fmr, "quality": self.quality,
                  "insufficient_quality": self.insufficient_quality}
        if self.licences:
            record["licences"] = list(self.licences)
        return record


@dataclass
class PersonSummary(Result):
    """One enrolled person as `Gallery.people` lists them."""

    name: str
    samples: int
    meta: dict


@dataclass
class SampleRecord(Result):
    """One face sample of a person (never its embedding)."""

    id: int
    quality: float | None
    box: list
    source: str
    created: str
    thumbnail: bool


@dataclass
class PersonRecord(Result):
    """One person with their samples (`Gallery.show`)."""

    name: str
    meta: dict
    created: str
    samples: list[SampleRecord]


@dataclass
class Erasure(Result):
    """What `Gallery.erase` removed."""

    name: str
    samples: int
    index_entries: int
    proof: str = ""  # what was searched (a database server's own files are out of reach: what was done there)
    exports_holding: list[str] = field(default_factory=list)  # exports made before, still holding the person


@dataclass
class MigrationReport(Result):
    people: int
    samples_migrated: int
    sources_missing: list[str] = field(default_factory=list)  # "name: source" of samples with no photo left
    refused: list[str] = field(default_factory=list)  # "name: source: reason"


@dataclass
class IndexCheck(Result):
    """Does the vector index agree with the database (`Gallery.check`)."""

    samples: int
    index_entries: int
    self_recall_at_10: float
    ok: bool
    erasure_pending: bool = False  # an earlier erasure's bytes are still in the database's files


@dataclass
class TransferReport(Result):
    """A collection written to or read from an export (`transfer`)."""

    people: int
    samples: int
    json: str | None = None
    npz: str | None = None
