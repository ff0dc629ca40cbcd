"""The per-image analysis record written by `faceatlas analyze --json` (schema: `analysis_record.schema.json`)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from faceatlas.errors import FaceAtlasError
from faceatlas.types import Faces

SCHEMA_VERSION = 2  # 2: expression_probabilities is label: probability (1: a list)


def record_schema() -> dict[str, Any]:
    """The JSON Schema every record validates against."""
    return json.loads((resources.files("faceatlas.io") / "analysis_record.schema.json").read_text())


def success_record(path: str, faces: Faces, elapsed_ms: float) -> dict[str, Any]:
    record = {"schema_version": SCHEMA_VERSION, "path": path, "error": None, **faces.to_dict(),
              "elapsed_ms": round(elapsed_ms, 2)}
    record.pop("source", None)
    if faces.meta.get("fallback"):
        record["fallback"] = faces.meta["fallback"]
    return record


def error_record(path: str, error: FaceAtlasError) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "path": path,
            "error": {"type": type(error).__name__, "message": str(error)}, "faces": []}
