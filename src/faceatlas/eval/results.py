"""The versioned JSON envelope every `faceatlas eval` command writes, and what `eval report` reads back.

    {"schema": "faceatlas.eval", "schema_version": 1, "kind": "verify" | "identify" | "detect" | "calibrate" |
     "budget" | "fairness" | "attributes" | "landmarks" | "pose" | "fuse", "created": ISO-8601 UTC,
     "faceatlas_version": str, "command": str,
     "machine": {...}, "pipeline": {"profile", "detector", "refiner", "recogniser", "flip"} | null,
     "models": [{"id", "task", "licence", "distribution", "version", "sha256"[, "restricted_licence",
                 "licence_accepted"]}], "data": {...}, "metrics": {...}}

`metrics` is kind-specific; its fields are documented in docs/eval.md. Fields are only ever added within a version.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from faceatlas.models.card import ModelCard
from faceatlas.version import __version__

SCHEMA = "faceatlas.eval"
SCHEMA_VERSION = 1
KINDS = ("verify", "identify", "detect", "calibrate", "budget", "fairness", "attributes", "landmarks", "pose",
         "fuse")


def machine() -> dict:
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "logical_cpus": os.cpu_count(), "python": platform.python_version()}


def model_summary(card: ModelCard) -> dict:
    summary = {"id": card.id, "task": card.task, "licence": card.licence, "distribution": card.source.distribution,
               "version": card.source.version, "sha256": card.sha256, "runtime": card.runtime}
    if card.accept_licence:  # a restrictive licence: the result says so, and who accepted it when
        from faceatlas.models.licences import acceptances

        accepted = acceptances().get(card.accept_licence)
        summary["restricted_licence"] = card.accept_licence
        summary["licence_accepted"] = f"{accepted.accepted_at} by {accepted.by}" if accepted else None
    return summary


def pipeline_summary(analyzer: object | None) -> tuple[dict | None, list[dict]]:
    """The front end and models of a FaceAnalyzer (or nothing for runs that used none)."""
    if analyzer is None:
        return None, []
    from faceatlas.models.registry import get_card

    detector, recogniser = analyzer.detector_card, analyzer.recogniser_card
    refiner = analyzer.refiner_card
    cards = [detector, *([refiner] if refiner else []), recogniser]
    cards += [get_card(member) for member in recogniser.members]
    pipeline = {"profile": analyzer.profile, "detector": detector.id, "refiner": refiner.id if refiner else None,
                "recogniser": recogniser.id, "flip": analyzer.flip}
    return pipeline, [model_summary(c) for c in cards]


def envelope(kind: str, command: str, data: dict, metrics: dict, analyzer: object | None = None,
             extra_models: tuple[str, ...] = ()) -> dict:
    """A result in the versioned envelope; `extra_models` names cards used besides the analyzer's (e.g. heads)."""
    if kind not in KINDS:
        raise ValueError(f"unknown result kind {kind!r}")
    from faceatlas.models.registry import get_card

    pipeline, models = pipeline_summary(analyzer)
    models += [model_summary(get_card(model)) for model in extra_models]
    return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "kind": kind,
            "created": datetime.now(UTC).isoformat(timespec="seconds"), "faceatlas_version": __version__,
            "command": command, "machine": machine(), "pipeline": pipeline, "models": models, "data": data,
            "metrics": _plain(metrics)}


def write_result(result: dict, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(result, indent=1) + "\n")
    temporary.replace(path)


def read_result(path: Path) -> dict:
    """A result file, checked to be one of ours and of a version this code reads."""
    try:
        result = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a readable JSON file ({error})") from None
    if not isinstance(result, dict) or result.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a faceatlas eval result")
    if result.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: schema version {result.get('schema_version')} is not {SCHEMA_VERSION}")
    if result.get("kind") not in KINDS:
        raise ValueError(f"{path}: unknown kind {result.get('kind')!r}")
    return result


def _plain(value: object) -> object:
    """NumPy scalars and arrays as plain JSON values; non-finite floats as null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
