"""Landmark error: NME normalised by the inter-ocular distance, per point, by pose bin, and the failure rate
(NME > 0.1). Five points (MTFL, LFW-MTFL: normalised by the eye centres) or the iBUG 68 points of dlib's XML
(normalised by the outer eye corners, the 300-W convention)."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FAILURE_NME = 0.1
POINT_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclass
class LandmarkTruth:
    """One annotated face per row (an image may appear on several rows)."""

    paths: list[Path]
    points: np.ndarray  # (N, 5, 2) in FaceAtlas order (eyes, nose, mouth corners), or (N, 68, 2) in iBUG order
    pose_bin: list[int | None]

    @property
    def eye_centres(self) -> np.ndarray:
        """(N, 2, 2) image-left and image-right eye centres."""
        if self.points.shape[1] == 68:
            return np.stack([self.points[:, 36:42].mean(1), self.points[:, 42:48].mean(1)], axis=1)
        return self.points[:, :2]


def load_landmarks(source: Path, images: Path | None = None) -> LandmarkTruth:
    """MTFL's `testing.txt`/`training.txt` (path x1..x5 y1..y5 gender smile glasses pose) or a CSV with
    `lfw_image,x_leye,...,y_rmouth[,pose_bin]` (the LFW-MTFL labels). Paths are relative to `images`, default the
    annotation file's folder."""
    source = Path(source)
    root = Path(images) if images else source.parent
    paths, points, poses = [], [], []
    if source.suffix.lower() == ".xml":
        return _load_dlib_xml(source, root)
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


def _load_dlib_xml(source: Path, root: Path) -> LandmarkTruth:
    """dlib's imglab XML with 68 `<part>`s per `<box>` (e.g. `testing_with_face_landmarks.xml`)."""
    paths, points = [], []
    for image in ET.parse(source).getroot().iter("image"):
        for box in image.iter("box"):
            parts = {int(p.get("name")): (float(p.get("x")), float(p.get("y"))) for p in box.iter("part")}
            if len(parts) == 68:
                paths.append(root / image.get("file"))
                points.append([parts[i] for i in range(68)])
    if not paths:
        raise ValueError(f"{source}: no faces with 68 landmarks")
    return LandmarkTruth(paths, np.asarray(points, np.float64), [None] * len(paths))


def nme(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N, K) point errors divided by each face's inter-ocular distance: between the true eye centres for five
    points, between the outer eye corners (iBUG 36 and 45) for 68."""
    left, right = (36, 45) if truth.shape[1] == 68 else (0, 1)
    interocular = np.linalg.norm(truth[:, right] - truth[:, left], axis=1)
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
            "per_point": _per_point(errors) if len(per_face) else {},
            "by_pose_bin": by_pose}


def _per_point(errors: np.ndarray) -> dict[str, float]:
    names = POINT_NAMES if errors.shape[1] == 5 else [f"{i:02d}" for i in range(errors.shape[1])]
    return dict(zip(names, errors.mean(axis=0).tolist(), strict=True))
