"""Cheap per-face signals of how recognisable a face is: detector confidence, size, sharpness, exposure and pose
cues from the five landmarks. All come from what detection already produced plus one 112x112 aligned grey crop."""

from __future__ import annotations

import cv2
import numpy as np

from faceatlas.align.similarity import align_faces
from faceatlas.types import Faces

FEATURES = ("score", "log_eye_distance", "log_sharpness", "brightness", "contrast", "clipped", "yaw_proxy",
            "roll_degrees")


def quality_features(bgr: np.ndarray, faces: Faces, aligned: np.ndarray | None = None) -> np.ndarray:
    """(N, len(FEATURES)) float32, one row per face; `aligned`: the faces' 112x112 ArcFace-aligned crops when
    already made (the recogniser's), else they are cut here."""
    if len(faces) == 0:
        return np.zeros((0, len(FEATURES)), np.float32)
    points = faces.landmarks5
    eyes = points[:, 1] - points[:, 0]
    eye_distance = np.linalg.norm(eyes, axis=1)
    eye_centre = (points[:, 0] + points[:, 1]) / 2
    # nose offset from the eye centre along the eye line, in eye distances: 0 frontal, large in profile
    along = np.einsum("ni,ni->n", points[:, 2] - eye_centre, eyes) / np.maximum(eye_distance**2, 1e-6)
    roll = np.degrees(np.arctan2(eyes[:, 1], eyes[:, 0]))
    crops = align_faces(bgr, points, 112) if aligned is None else aligned
    rows = []
    for crop in crops:
        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        centre = grey[16:96, 16:96]  # the face itself, not the padding corners
        rows.append([np.log1p(cv2.Laplacian(centre, cv2.CV_32F).var()), centre.mean() / 255.0, centre.std() / 255.0,
                     np.mean((centre < 8) | (centre > 247))])
    pixels = np.asarray(rows, np.float32)
    return np.column_stack([faces.scores, np.log(np.maximum(eye_distance, 1.0)), pixels, np.abs(along),
                            np.abs(roll)]).astype(np.float32)
