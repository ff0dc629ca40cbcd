"""The HTTP API's typed responses (its OpenAPI schema): the JSON of the Python API's results."""

from __future__ import annotations

from pydantic import BaseModel


class FaceRecord(BaseModel):
    box: list[float]  # xyxy, image pixels
    score: float
    landmarks5: list[list[float]]
    embedding: list[float] | None = None
    attributes: dict[str, object] | None = None


class Analysis(BaseModel):
    """Every face of one image (`Faces.to_dict`)."""

    source: str | None
    image_size: list[int]
    detector: str | None
    embedding_model: str | None
    faces: list[FaceRecord]


class VerificationResult(BaseModel):
    """A 1:1 decision at a calibrated false-match rate (`Verification.to_dict`)."""

    score: float
    same: bool
    decision: str
    threshold: float
    fmr: float
    model: str
    quality: list[float] | None
    min_quality: float | None


class Health(BaseModel):
    status: str
    detail: str = ""
