"""Head pose (yaw, pitch, roll in degrees) by a rigid fit of a canonical 3D face mesh to the predicted mesh.

The fit is Umeyama's least-squares similarity in 3D (rotation, scale, translation) over all 468 vertices; the
angles are read from the rotation. Frame: x to the image right, y down, z away from the camera. Signs follow the
head-pose literature (300W-LP, FSA-Net): yaw > 0 when the face turns towards the image left (the subject's right),
pitch > 0 when the face tilts up, roll > 0 when the head tilts clockwise in the image.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

CANONICAL_MESH_FILE = Path(__file__).with_name("canonical_mesh.json")


@lru_cache(maxsize=1)
def canonical_mesh() -> np.ndarray:
    """(468, 3) mirror-symmetric mean face mesh, zero-centred, unit RMS radius (see `scripts/fit_canonical_mesh.py`)."""
    return np.asarray(json.loads(CANONICAL_MESH_FILE.read_text())["vertices"], np.float64)


@lru_cache(maxsize=1)
def canonical_mirror() -> np.ndarray:
    """(468,) the index of each vertex's mirror image (midline vertices map to themselves)."""
    return np.asarray(json.loads(CANONICAL_MESH_FILE.read_text())["mirror"], int)


def rigid_fit(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares similarity from (K, 3) `source` onto each of (N, K, 3) `target` (Umeyama 1991):
    rotations (N, 3, 3), scales (N,) and translations (N, 3) with target ≈ scale * R @ source + t."""
    target = np.asarray(target, np.float64)
    source_mean, target_mean = source.mean(0), target.mean(1)
    s, t = source - source_mean, target - target_mean[:, None]
    covariance = np.einsum("nki,kj->nij", t, s) / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones((len(target), 3))
    sign[np.linalg.det(u) * np.linalg.det(vt) < 0, 2] = -1
    rotation = np.einsum("nij,nj,njk->nik", u, sign, vt)
    scale = (singular * sign).sum(1) / (s**2).sum(1).mean()
    translation = target_mean - scale[:, None] * np.einsum("nij,j->ni", rotation, source_mean)
    return rotation, scale, translation


def euler_angles(rotation: np.ndarray) -> np.ndarray:
    """(N, 3) yaw, pitch, roll in degrees from (N, 3, 3) rotations R = Rz(roll) Ry(yaw) Rx(pitch), signs as in the
    module docstring."""
    r = np.asarray(rotation, np.float64)
    yaw = np.arcsin(np.clip(-r[:, 2, 0], -1.0, 1.0))
    pitch = np.arctan2(r[:, 2, 1], r[:, 2, 2])
    roll = np.arctan2(r[:, 1, 0], r[:, 0, 0])
    return np.degrees(np.stack([yaw, -pitch, roll], axis=1))


def head_pose(meshes: np.ndarray) -> np.ndarray:
    """(N, 3) yaw, pitch, roll in degrees for (N, 468, 3) meshes in image coordinates."""
    if len(meshes) == 0:
        return np.zeros((0, 3))
    rotation, _, _ = rigid_fit(canonical_mesh(), meshes)
    return euler_angles(rotation)
