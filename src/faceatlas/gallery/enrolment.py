"""What enrolment refuses besides unusable photos: the same face twice, and a face that is already somebody else."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from faceatlas.gallery.index import VectorIndex
from faceatlas.gallery.schema import Sample, Subject
from faceatlas.models.card import ModelCard

DUPLICATE_MARGIN = 0.03
"""A new sample is the same photo again (refused) when its distance (1 - similarity) to one of the same person's
samples is under this fraction of the distance at the FMR 1e-5 threshold — scaled by the model, whose similarity
ranges differ (SFace: similarity >= 0.984; re-encoded, resized, re-exposed or mirrored copies of one photo score
0.984-0.991, a rotated or shifted copy 0.97-0.98 and two different photos of one person rarely exceed 0.9)."""

IDENTITY_CLASH_FMR = 1e-5
"""Enrolling a face that matches another person at this false-match rate is refused unless allowed."""


class EnrolmentChecks:
    """Duplicate and identity-clash checks at the thresholds of one recogniser's calibration."""

    def __init__(self, card: ModelCard, allow_identity_clash: bool = False) -> None:
        self.clash = card.threshold_at(IDENTITY_CLASH_FMR)
        self.duplicate = 1.0 - DUPLICATE_MARGIN * (1.0 - self.clash)
        self.allow_identity_clash = allow_identity_clash

    def refusal(self, session: Session, index: VectorIndex, subject_id: int, vector: np.ndarray,
                kept: list[np.ndarray]) -> str | None:
        """Why `vector` may not become a sample of person `subject_id` (None: it may); `kept` are the vectors this
        same enrolment already accepted."""
        if any(float(other @ vector) >= self.duplicate for other in kept):
            return "the same face twice in this enrolment"
        ids, scores = index.search(vector[None], 5)
        found = [int(i) for i in ids[0] if i >= 0]
        owners = dict(session.execute(select(Sample.id, Sample.subject_id).where(Sample.id.in_(found))).all())
        for sample_id, score in zip(found, scores[0], strict=False):
            owner = owners.get(sample_id)
            if owner == subject_id and score >= self.duplicate:
                return f"already enrolled (sample {sample_id}, similarity {score:.3f})"
            if owner is not None and owner != subject_id and score >= self.clash and not self.allow_identity_clash:
                other = session.scalar(select(Subject.name).where(Subject.id == owner))
                return (f"matches enrolled person '{other}' (similarity {score:.3f} >= {self.clash:.3f}, the "
                        f"threshold at FMR {IDENTITY_CLASH_FMR:g}); enrol anyway with --allow-identity-clash "
                        "(Python: allow_identity_clash=True)")
        return None
