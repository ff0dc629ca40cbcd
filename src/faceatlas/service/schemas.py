"""The HTTP API's typed responses (its OpenAPI schema): the JSON of the Python API's results."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from faceatlas.service.problems import PROBLEM_JSON

RowNumber = Annotated[int, Field(ge=0, lt=2**62)]
"""A sample, face or cluster number as the store holds it (larger would overflow the database's integers)."""


class Problem(BaseModel):
    """An RFC 9457 problem: the body of every error response."""

    type: str = Field(description="urn:faceatlas:problem:<slug>, one per kind of error.")
    title: str
    status: int
    detail: str


PROBLEM_STATUSES = {
    400: "The body cannot be parsed (malformed multipart or JSON).",
    401: "No valid API key.",
    403: "The key does not hold the route's scope for this collection (or the folder is not one this server "
         "indexes).",
    404: "No such collection, person, sample, face or job (another collection's job included).",
    408: "The body did not arrive within FACEATLAS_REQUEST_TIMEOUT.",
    409: "The request conflicts with the current state (an erasure pending, a review question no longer asked).",
    413: "The body is larger than FACEATLAS_MAX_UPLOAD_BYTES, or the image has more pixels than FACEATLAS_MAX_PIXELS.",
    422: "The request, or its image, is not valid (not an image, no face, an unknown person, ...).",
    503: "Busy (see Retry-After), or the store or a model is unavailable.",
    504: "The result was not ready within FACEATLAS_REQUEST_TIMEOUT.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses: each an application/problem+json `Problem`."""
    schema = Problem.model_json_schema()
    return {status: {"description": PROBLEM_STATUSES[status], "content": {PROBLEM_JSON: {"schema": schema}}}
            for status in statuses}


ERRORS = problems(400, 401, 403, 408, 413, 422, 503, 504)
"""The errors of every /v1 route."""
IN_COLLECTION = {**ERRORS, **problems(404, 409)}
"""The errors of a route on a collection or a job."""


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
    licences: list[str] = Field(default_factory=list, description="Restrictive licences (accepted by the server's "
                                "operator) of the models that made this result; empty under the permissive default.")


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
    licences: list[str] = Field(default_factory=list, description="Restrictive licences of the models that made "
                                "this decision.")


class Health(BaseModel):
    status: str
    detail: str = ""


class Rename(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="The person's new name.")


class MergeInto(BaseModel):
    into: str = Field(min_length=1, max_length=200, description="The person who keeps every sample.")


class MoveSamples(BaseModel):
    samples: list[RowNumber] = Field(min_length=1, max_length=10_000, description="Sample ids of the person in the "
                                     "path.")
    to: str = Field(min_length=1, max_length=200, description="Who they are (created if new).")


class Moved(BaseModel):
    """Samples moved to `into`."""

    moved: int
    into: str


class ReviewReply(BaseModel):
    """An answer to the review question about `cluster` and the person `subject_id` (as the queue put it)."""

    cluster: RowNumber
    subject_id: RowNumber
    reply: str = Field(min_length=1, max_length=200, description="yes, no, skip, or the right name.")


class ClusterName(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class ClusterMerge(BaseModel):
    other: RowNumber = Field(description="The cluster that is the same person.")


class TakenBack(BaseModel):
    """An answer to take back, as `review/answers` returned it (`Answer`)."""

    cluster: RowNumber
    verdict: Literal["named", "not", "skipped"]
    name: str | None = Field(default=None, max_length=200)
    faces: int | None = None
    samples_added: int = 0
    subject_id: RowNumber | None = None
    face_ids: list[RowNumber] = Field(default_factory=list, max_length=100_000)


class IndexFolder(BaseModel):
    folder: str = Field(min_length=1, max_length=4096, description="A folder on the server, inside one of its "
                        "FACEATLAS_SERVE_FOLDERS.")
    videos: bool = False
