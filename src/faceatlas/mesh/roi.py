"""Rotated square regions of interest: the crop geometry MediaPipe's landmark models were trained on."""

from __future__ import annotations

import cv2
import numpy as np

FIRST_PASS_SIDE = 3.55
"""Side of the first-pass crop in units of the eye-to-mouth distance (`roi_from_landmarks5`)."""

FIRST_PASS_SHIFT = -0.08
"""How far below the eye/mouth midpoint (negative: above) the first-pass crop is centred, in eye-to-mouth distances."""

MESH_SCALE = 1.5
"""MediaPipe's tracking ROI: the landmarks' rotated bounding square enlarged 1.5 times."""


def roi_from_landmarks5(landmarks5: np.ndarray) -> np.ndarray:
    """(N, 4) rotated squares (centre x, centre y, side, angle in radians) that hold the whole face mesh, from
    five landmarks: eyes levelled, centred between eyes and mouth, sized by the eye-to-mouth distance."""
    points = np.asarray(landmarks5, np.float64)
    eyes, mouth = points[:, :2].mean(axis=1), points[:, 3:].mean(axis=1)
    eye_line = points[:, 1] - points[:, 0]
    angle = np.arctan2(eye_line[:, 1], eye_line[:, 0])
    down = np.stack([-np.sin(angle), np.cos(angle)], axis=1)  # the face's "down" direction in the image
    span = np.einsum("ni,ni->n", mouth - eyes, down)
    centre = (eyes + mouth) / 2 + FIRST_PASS_SHIFT * span[:, None] * down
    return np.column_stack([centre, FIRST_PASS_SIDE * span, angle])


def roi_from_points(points: np.ndarray, left: int, right: int, scale: float) -> np.ndarray:
    """(N, 4) rotated squares around (N, K, 2) points, levelled on the line from point `left` to point `right`,
    enlarged `scale` times."""
    points = np.asarray(points, np.float64)
    line = points[:, right] - points[:, left]
    angle = np.arctan2(line[:, 1], line[:, 0])
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    u = points[..., 0] * cos + points[..., 1] * sin  # coordinates in the levelled frame
    v = -points[..., 0] * sin + points[..., 1] * cos
    uc, vc = (u.min(1) + u.max(1)) / 2, (v.min(1) + v.max(1)) / 2
    side = np.maximum(u.max(1) - u.min(1), v.max(1) - v.min(1)) * scale
    centre = np.stack([uc * cos[:, 0] - vc * sin[:, 0], uc * sin[:, 0] + vc * cos[:, 0]], axis=1)
    return np.column_stack([centre, side, angle])


def crop_to_image(rois: np.ndarray, size: int) -> np.ndarray:
    """(N, 2, 3) affine matrices from crop pixels (0..size) to image pixels."""
    cx, cy, side, angle = (np.asarray(rois, np.float64)[:, i] for i in range(4))
    scale = side / size
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    tx = cx - (cos * size / 2 - sin * size / 2)
    ty = cy - (sin * size / 2 + cos * size / 2)
    return np.stack([np.stack([cos, -sin, tx], 1), np.stack([sin, cos, ty], 1)], axis=1)


def crops(rgb: np.ndarray, rois: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, size, size, 3) float32 crops in 0..1 and their (N, 2, 3) crop-to-image matrices; outside the image is
    black, as in MediaPipe."""
    matrices = crop_to_image(rois, size)
    out = np.empty((len(rois), size, size, 3), np.float32)
    for i, matrix in enumerate(matrices):
        patch = cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT)
        out[i] = patch.astype(np.float32) / 255.0
    return out, matrices


def to_image(points: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Map (N, K, 2 or 3) crop points to image pixels; a third (depth) coordinate is scaled like x and y."""
    xy = np.einsum("nij,nkj->nki", matrices[:, :, :2], points[..., :2]) + matrices[:, None, :, 2]
    if points.shape[-1] == 2:
        return xy
    scale = np.hypot(matrices[:, 0, 0], matrices[:, 1, 0])
    return np.concatenate([xy, points[..., 2:] * scale[:, None, None]], axis=-1)
