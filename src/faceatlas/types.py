"""`Faces`: the one columnar container that flows through the pipeline, and small value types."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np

from faceatlas.errors import AmbiguousFaceError, FaceAtlasError, NoFaceError
from faceatlas.geometry import iou_matrix
from faceatlas.results import Result

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
"""Order of `Faces.landmarks5`: image-left eye, image-right eye, nose tip, image-left and image-right mouth corner."""

_COLUMNS = ("boxes", "scores", "landmarks5", "embeddings", "embedding_norms")

SubjectRule = Literal["largest", "centre", "alone"]
"""How the one face a photo is about is chosen (`Faces.subject`): the largest; the nearest the image centre (the
LFW protocol); or the most prominent (`Faces.prominence`) only when no other face rivals it (enrolment: a photo of the
person alone, or plainly about them)."""

ALONE_RIVAL = 0.7
"""Under the "alone" rule, a second face with more than this fraction of the most prominent face's prominence
(`Faces.prominence`) makes the photo ambiguous (refused) rather than a portrait. For two faces equally central and
confident, that is a face with more than half the other's area, as the rule was when it looked at size alone."""

SAME_BOX_IOU = 0.5
"""A face found again (another model's detector, a re-analysis) is the one at a stored box when their boxes overlap
this much (intersection over union)."""


@dataclass(frozen=True)
class Faces:
    """N faces found in one image: numpy columns indexed together.

    `faces[mask]`, `faces[2:5]` and `faces[[0, 3]]` return a `Faces`; `faces[i]` with an int returns a one-face `Faces`.
    """

    boxes: np.ndarray  # (N, 4) float32 xyxy, image pixels
    scores: np.ndarray  # (N,) float32 detector confidence
    landmarks5: np.ndarray  # (N, 5, 2) float32, order LANDMARK_NAMES
    image_size: tuple[int, int]  # (width, height) of the analysed image
    embeddings: np.ndarray | None = None  # (N, D) float32, L2-normalised
    embedding_model: str | None = None
    embedding_norms: np.ndarray | None = None  # (N,) the recogniser's output norm before L2 normalisation, if known
    source: str | None = None
    detector: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, np.ndarray] = field(default_factory=dict)  # per-face columns from attribute heads
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)  # what each value of a vector column is
    licences: tuple[str, ...] = ()  # restrictive licences of the models that made these faces (models.licences)

    def __post_init__(self) -> None:
        n = len(self.boxes)
        if self.boxes.shape != (n, 4) or self.scores.shape != (n,) or self.landmarks5.shape != (n, 5, 2):
            raise ValueError(
                f"inconsistent Faces columns: boxes {self.boxes.shape}, scores {self.scores.shape}, "
                f"landmarks5 {self.landmarks5.shape}"
            )
        if self.embeddings is not None and len(self.embeddings) != n:
            raise ValueError(f"embeddings has {len(self.embeddings)} rows for {n} faces")
        for name, column in self.attributes.items():
            if len(column) != n:
                raise ValueError(f"attribute column '{name}' has {len(column)} rows for {n} faces")

    @classmethod
    def empty(cls, image_size: tuple[int, int], **kwargs: Any) -> Faces:
        return cls(
            boxes=np.zeros((0, 4), np.float32),
            scores=np.zeros((0,), np.float32),
            landmarks5=np.zeros((0, 5, 2), np.float32),
            image_size=image_size,
            **kwargs,
        )

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, index: int | slice | np.ndarray | list[int]) -> Faces:
        if isinstance(index, int | np.integer):
            index = [int(index)]
        columns = {
            name: getattr(self, name)[index] for name in _COLUMNS if getattr(self, name) is not None
        }
        attributes = {name: column[index] for name, column in self.attributes.items()}
        return replace(self, **columns, attributes=attributes)

    def with_attributes(self, columns: dict[str, np.ndarray], labels: dict[str, tuple[str, ...]] | None = None
                        ) -> Faces:
        """A copy with these attribute columns added (or replaced); `labels` names the values of vector columns
        (`to_dict` then writes them as label: value)."""
        return replace(self, attributes={**self.attributes, **columns}, labels={**self.labels, **(labels or {})})

    def with_embeddings(self, embeddings: np.ndarray | None, model: str | None, norms: np.ndarray | None = None,
                        licences: tuple[str, ...] = ()) -> Faces:
        """A copy with these embeddings (None: without any) by `model`, and their norms before normalisation; the
        restrictive `licences` the recogniser runs under join the faces' own."""
        return replace(self, embeddings=None if embeddings is None else embeddings.astype(np.float32, copy=False),
                       embedding_model=model, embedding_norms=norms,
                       licences=tuple(sorted({*self.licences, *licences})))

    @property
    def pose(self) -> np.ndarray | None:
        """(N, 3) yaw, pitch, roll in degrees from the mesh head, or None without it."""
        if "yaw" not in self.attributes:
            return None
        return np.column_stack([self.attributes[a] for a in ("yaw", "pitch", "roll")]).astype(np.float32)

    @property
    def quality(self) -> np.ndarray | None:
        """(N,) quality scores from the quality head, or None without it; `faces[faces.quality > 0.5]` filters."""
        return self.attributes.get("quality")

    @property
    def areas(self) -> np.ndarray:
        return (self.boxes[:, 2] - self.boxes[:, 0]) * (self.boxes[:, 3] - self.boxes[:, 1])

    def largest(self) -> Faces:
        """The one face with the largest box (empty if there is none)."""
        return self if len(self) == 0 else self[int(np.argmax(self.areas))]

    def nearest_centre(self) -> Faces:
        """The one face whose box centre is nearest the image centre (empty if there is none)."""
        if len(self) == 0:
            return self
        centres = (self.boxes[:, :2] + self.boxes[:, 2:]) / 2
        target = np.array(self.image_size, np.float32) / 2
        return self[int(np.argmin(((centres - target) ** 2).sum(1)))]

    def nearest_to_centre(self) -> Faces:
        """Deprecated name of `nearest_centre`."""
        _deprecated("Faces.nearest_to_centre()", "Faces.nearest_centre()")
        return self.nearest_centre()

    def prominence(self) -> np.ndarray:
        """(N,) how plainly each face is what the photo is about, in [0, 1]: its size (the square root of its area
        over the largest's) times its centrality (1 at the image centre, 1/2 at a corner) times the detector's
        confidence."""
        size = np.sqrt(self.areas / max(float(self.areas.max()), 1e-6))
        centres = (self.boxes[:, :2] + self.boxes[:, 2:]) / 2
        middle = np.array(self.image_size, np.float32) / 2
        off = np.linalg.norm(centres - middle, axis=1) / max(float(np.linalg.norm(middle)), 1e-6)
        return (size * (1 - np.clip(off, 0, 1) / 2) * np.clip(self.scores, 0, 1)).astype(np.float32)

    def alone(self, rival: float = ALONE_RIVAL) -> Faces:
        """The most prominent face (`prominence`), when no other face has more than `rival` of its prominence (empty
        if there is none); `AmbiguousFaceError` naming the rivals' boxes otherwise."""
        if len(self) < 2:
            return self
        prominence = self.prominence()
        order = np.argsort(-prominence, kind="stable")
        rivals = [int(i) for i in order if prominence[i] > rival * prominence[order[0]]]
        if len(rivals) > 1:
            boxes = ", ".join("[" + ",".join(str(round(float(v))) for v in self.boxes[i]) + "]" for i in rivals)
            raise AmbiguousFaceError(
                f"{len(rivals)} faces could each be the subject (boxes {boxes}): use a photo of this person alone, "
                "or choose the face (--subject largest or centre, or --box; Python: subject=, boxes=)")
        return self[int(order[0])]

    def at_box(self, box: Sequence[float], min_iou: float = SAME_BOX_IOU) -> Faces:
        """The face whose box overlaps `box` (xyxy) most; `NoFaceError` when none overlaps it by `min_iou`."""
        if len(self) == 0:
            raise NoFaceError("no face found")
        overlap = iou_matrix(self.boxes, np.asarray([box], np.float32))[:, 0]
        if overlap.max() < min_iou:
            raise NoFaceError(f"no face at the given box (best overlap {overlap.max():.2f})")
        return self[int(np.argmax(overlap))]

    def holding(self, point: Sequence[float]) -> Faces:
        """The face whose box holds `point` (x, y) with its centre nearest it (empty if no box holds it): the face
        an annotation marks."""
        x, y = point
        inside = (self.boxes[:, 0] <= x) & (x <= self.boxes[:, 2]) & (self.boxes[:, 1] <= y) & (y <= self.boxes[:, 3])
        if not inside.any():
            return self[[]]
        distance = np.linalg.norm((self.boxes[:, :2] + self.boxes[:, 2:]) / 2 - np.asarray(point, np.float32), axis=1)
        return self[int(np.argmin(np.where(inside, distance, np.inf)))]

    def subject(self, rule: SubjectRule | Sequence[float] = "largest") -> Faces:
        """The one face a photo is about, by `rule` (`SubjectRule`, or an xyxy box: the face found there), as a
        one-face `Faces`; `NoFaceError` when there is no face, `AmbiguousFaceError` when "alone" finds rivals."""
        if not isinstance(rule, str):
            return self.at_box(rule)
        chosen = {"largest": self.largest, "centre": self.nearest_centre, "alone": self.alone}[rule]()
        if len(chosen) == 0:
            unsure = self.meta.get("unconfirmed", 0)
            raise NoFaceError("no face found" + (f" ({unsure} unsure detection(s) that a second detector did not "
                                                 "confirm: a face too blurred or small, or no face)" if unsure else ""))
        return chosen

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Faces:
        """The `Faces` a `to_dict` record describes (as the HTTP API returns it): boxes, scores, landmarks,
        embeddings when every face has one, and the attribute columns (labelled ones back to vectors)."""
        faces = record["faces"]
        embeddings = [face.get("embedding") for face in faces]
        names = [name for name in (faces[0].get("attributes") or {})] if faces else []
        labels = {name: tuple(faces[0]["attributes"][name]) for name in names
                  if isinstance(faces[0]["attributes"][name], dict)}
        attributes = {name: np.asarray([list(face["attributes"][name].values()) if name in labels
                                        else face["attributes"][name] for face in faces]) for name in names}
        width, height = record["image_size"]
        return cls(boxes=np.asarray([face["box"] for face in faces], np.float32).reshape(-1, 4),
                   scores=np.asarray([face["score"] for face in faces], np.float32),
                   landmarks5=np.asarray([face["landmarks5"] for face in faces], np.float32).reshape(-1, 5, 2),
                   image_size=(width, height), source=record.get("source"), detector=record.get("detector"),
                   embeddings=np.asarray(embeddings, np.float32) if faces and None not in embeddings else None,
                   embedding_model=record.get("embedding_model"), attributes=attributes, labels=labels)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: one record per face plus the image-level fields."""
        records = []
        for i in range(len(self)):
            record: dict[str, Any] = {
                "box": [round(float(v), 2) for v in self.boxes[i]],
                "score": round(float(self.scores[i]), 4),
                "landmarks5": [[round(float(x), 2), round(float(y), 2)] for x, y in self.landmarks5[i]],
            }
            if self.embeddings is not None:
                record["embedding"] = [round(float(v), 6) for v in self.embeddings[i]]
            if self.attributes:
                record["attributes"] = {name: _json_value(column[i], self.labels.get(name))
                                        for name, column in self.attributes.items()}
            records.append(record)
        result = {
            "source": self.source,
            "image_size": list(self.image_size),
            "detector": self.detector,
            "embedding_model": self.embedding_model,
            "faces": records,
        }
        if self.licences:
            result["licences"] = list(self.licences)
        return result

    def __repr__(self) -> str:
        names = [f.name for f in fields(self) if f.name in _COLUMNS and getattr(self, f.name) is not None]
        names += list(self.attributes)
        return f"Faces(n={len(self)}, image_size={self.image_size}, columns={names}, source={self.source!r})"


def _deprecated(old: str, new: str) -> None:
    """Warn once per call site that `old` is deprecated in favour of `new`."""
    warnings.warn(f"{old} is deprecated; use {new}", DeprecationWarning, stacklevel=3)


def _json_value(value: Any, labels: tuple[str, ...] | None = None) -> Any:
    """One attribute cell as JSON: numbers rounded, arrays as lists (as label: value with `labels`), labels as
    strings."""
    if isinstance(value, np.ndarray) and labels is not None:
        return {label: _json_value(v) for label, v in zip(labels, value, strict=True)}
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value]
    if isinstance(value, np.floating | float):
        return round(float(value), 4)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return str(value)


@dataclass(frozen=True)
class Shot:
    """One decoded picture from a source (a photo, or one frame of a video) and its faces, as the pipeline yields
    them; a picture that could not be read has `error` set, `image` None and no faces."""

    faces: Faces
    image: np.ndarray | None  # BGR uint8 (H, W, 3)
    source: str | None = None  # the path, or None for in-memory input
    index: int = 0  # which of the sources given this picture came from
    frame: int | None = None  # a video's picture: its number among the frames taken
    time_ms: int | None = None  # a video's picture: its timestamp
    error: FaceAtlasError | None = None  # why this source (or picture) gave no faces: unreadable, no face, ...
    warning: str | None = None  # read only in part (a video damaged after this, its last picture)
    ms: dict[str, float] = field(default_factory=dict)  # time spent on this picture by stage: decode, detect, ...

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Verification(Result):
    """A 1:1 decision made at a calibrated false-match rate: two photos (`FaceAnalyzer.verify`), or a photo against an
    enrolled person (`Gallery.verify`, which also names them and counts their samples)."""

    score: float
    same: bool
    threshold: float
    fmr: float
    model: str
    quality: tuple[float, float] | None = None  # of the two faces, when a quality gate was asked for
    insufficient_quality: bool = False  # the gate refused to decide: `same` is False but says nothing
    min_quality: float | None = None  # the gate asked for
    name: str | None = None  # the enrolled person compared with (gallery)
    samples: int | None = None  # their samples the score combines (gallery)
    licences: tuple[str, ...] = ()  # restrictive licences of the models that made the decision

    @property
    def decision(self) -> str:
        """"same", "different" or "insufficient_quality"."""
        return "insufficient_quality" if self.insufficient_quality else ("same" if self.same else "different")

    def to_dict(self) -> dict[str, Any]:
        record = {"score": self.score, "same": self.same, "decision": self.decision, "threshold": self.threshold,
                  "fmr": self.fmr, "model": self.model, "quality": list(self.quality) if self.quality else None,
                  "min_quality": self.min_quality}
        if self.name is not None:
            record.update(name=self.name, samples=self.samples)
        if self.licences:
            record["licences"] = list(self.licences)
        return record
