"""Five-point landmark error: NME normalised by the inter-ocular distance (eye centres), per point, by pose bin,
and the failure rate (NME > 0.1), on MTFL-style annotations."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FAILURE_NME = 0.1
POINT_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclass
class LandmarkTruth:
    paths: list[Path]
    points: np.ndarray  # (N, 5, 2) in FaceAtlas order: image-left eye, image-right eye, nose, mouth left, right
    pose_bin: list[int | None]


def load_landmarks(source: Path, images: Path | None = None) -> LandmarkTruth:
    """MTFL's `testing.txt`/`training.txt` (path x1..x5 y1..y5 gender smile glasses pose) or a CSV with
    `lfw_image,x_leye,...,y_rmouth[,pose_bin]` (the LFW-MTFL labels). Paths are relative to `images`, default the
    annotation file's folder."""
    source = Path(source)
    root = Path(images) if images else source.parent
    paths, points, poses = [], [], []
    if source.suffix.lower() == ".csv":
        order = ("leye", "reye", "nose", "lmouth", "rmouth")
        with open(source, newline="") as handle:
            for row in csv.DictReader(handle):
                paths.append(root / row["lfw_image"])
                points.append([[float(row[f"x_{p}"]), float(row[f"y_{p}"])] for p in order])
                poses.append(int(row["pose_bin"]) if row.get("pose_bin") else None)
    else:
        for line in source.read_text().splitlines():
            parts = line.split()
            if len(parts) < 11:
                continue
            values = [float(v) for v in parts[1:11]]
            paths.append(root / parts[0].replace("\\", "/"))
            points.append(list(zip(values[:5], values[5:10], strict=True)))
            poses.append(int(parts[14]) if len(parts) > 14 else None)
    if not paths:
        raise ValueError(f"{source}: no landmark annotations")
    return LandmarkTruth(paths, np.asarray(points, np.float64), poses)


def nme(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N, 5) point errors divided by each face's inter-ocular distance (between the true eye centres)."""
    interocular = np.linalg.norm(truth[:, 1] - truth[:, 0], axis=1)
    return np.linalg.norm(predicted - truth, axis=2) / np.maximum(interocular, 1e-6)[:, None]


def landmark_metrics(errors: np.ndarray, poses: list[int | None]) -> dict:
    per_face = errors.mean(axis=1)
    by_pose = {}
    for pose in sorted({p for p in poses if p is not None}):
        member = np.array([p == pose for p in poses])
        by_pose[str(pose)] = {"faces": int(member.sum()), "nme": float(per_face[member].mean())}
    return {"faces": len(per_face), "nme": float(per_face.mean()) if len(per_face) else None,
            "nme_median": float(np.median(per_face)) if len(per_face) else None,
            "failure_rate": float(np.mean(per_face > FAILURE_NME)) if len(per_face) else None,
            "per_point": dict(zip(POINT_NAMES, errors.mean(axis=0).tolist(), strict=True)) if len(per_face) else {},
            "by_pose_bin": by_pose}
