"""The HTTP API's typed responses (its OpenAPI schema): the JSON of the Python API's results."""

from __future__ import annotations

from pydantic import BaseModel, Field


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


class Rename(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="The person's new name.")


class MergeInto(BaseModel):
    into: str = Field(min_length=1, max_length=200, description="The person who keeps every sample.")


class MoveSamples(BaseModel):
    samples: list[int] = Field(min_length=1, max_length=10_000, description="Sample ids of the person in the path.")
    to: str = Field(min_length=1, max_length=200, description="Who they are (created if new).")


class Moved(BaseModel):
    """Samples moved to `into`."""

    moved: int
    into: str


class ReviewReply(BaseModel):
    """An answer to the review question about `cluster` and the person `subject_id` (as the queue put it)."""

    cluster: int
    subject_id: int
    reply: str = Field(min_length=1, max_length=200, description="yes, no, skip, or the right name.")


class ClusterName(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class ClusterMerge(BaseModel):
    other: int = Field(description="The cluster that is the same person.")


class IndexFolder(BaseModel):
    folder: str = Field(min_length=1, max_length=4096, description="A folder on the server, inside one of its "
                        "FACEATLAS_SERVE_FOLDERS.")
    videos: bool = False
