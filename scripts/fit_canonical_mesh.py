"""Fit the canonical face mesh that head pose is measured against (`faceatlas/mesh/canonical_mesh.json`).

MediaPipe's own canonical model is not shipped in any PyPI distribution we may use, so we derive one: FaceMesh on
the faces of LFW View 1 DevTrain, generalised Procrustes mean (rotation, scale, translation), then made exactly
mirror-symmetric (vertex pairs found by matching the mean to its mirror image) and turned so its plane of symmetry
is x = 0. Zero yaw and roll are therefore "symmetric to the camera"; zero pitch is the mean head pitch of LFW
photos (near-frontal press photos). Needs ../shared/data. Run from the repository root:

    .venv/bin/python scripts/fit_canonical_mesh.py
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from faceatlas import FaceAnalyzer
from faceatlas.eval.pairs import read_pairs
from faceatlas.mesh.pose import CANONICAL_MESH_FILE, rigid_fit

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1"
ITERATIONS = 5


def normalised(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=-2, keepdims=True)
    return centred / np.sqrt((centred**2).sum(-1).mean(-1))[..., None, None]


def aligned_to(reference: np.ndarray, meshes: np.ndarray) -> np.ndarray:
    """Each mesh rotated, scaled and moved onto `reference`."""
    rotation, scale, translation = rigid_fit(reference, meshes)
    inverse = np.transpose(rotation, (0, 2, 1))
    return np.einsum("nij,nkj->nki", inverse, meshes - translation[:, None]) / scale[:, None, None]


def procrustes_mean(meshes: np.ndarray) -> np.ndarray:
    mean = normalised(meshes.mean(axis=0))  # starts in the image frame, so the result keeps LFW's mean pose
    for _ in range(ITERATIONS):
        mean = normalised(aligned_to(mean, meshes).mean(axis=0))
    return mean


def symmetrised(mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mesh averaged with its own mirror image, turned so the symmetry plane is x = 0; and the mirror pairing."""
    mirror = mean * [-1.0, 1.0, 1.0]
    _, pairing = linear_sum_assignment(cdist(mean, mirror))
    symmetric = (mean + aligned_to(mean, mirror[pairing][None])[0]) / 2
    differences = symmetric - symmetric[pairing]
    normal = np.linalg.svd(differences[np.abs(differences).sum(1) > 0], full_matrices=False)[2][0]
    normal *= np.sign(normal[0])
    axis = np.cross(normal, [1.0, 0.0, 0.0])
    angle = np.arctan2(np.linalg.norm(axis), normal[0])
    rotation, _ = cv2.Rodrigues(axis / max(np.linalg.norm(axis), 1e-12) * angle)
    turned = symmetric @ rotation.T
    exact = (turned + turned[pairing] * [-1.0, 1.0, 1.0]) / 2
    return normalised(exact), pairing


def main() -> None:
    analyzer = FaceAnalyzer(heads=["mesh"])
    names = sorted({n for p in read_pairs(LFW / "pairsDevTrain.txt") for n in (p.a, p.b)})
    meshes = [shot.faces.attributes["landmarks468"][0]
              for shot in analyzer.shots([LFW / "images" / name for name in names], embed=False, subject="centre")
              if shot.error is None]
    mean = procrustes_mean(np.asarray(meshes, np.float64))
    canonical, pairing = symmetrised(mean)
    residual = float(np.sqrt(((aligned_to(canonical, np.asarray(meshes, np.float64)) - canonical) ** 2).sum(-1)).mean())
    CANONICAL_MESH_FILE.write_text(json.dumps({
        "source": "FaceMesh (facemesh-v1) on LFW View 1 DevTrain, generalised Procrustes mean, mirror-symmetrised",
        "faces": len(meshes), "mean_vertex_residual": round(residual, 4),
        "vertices": np.round(canonical, 5).tolist(), "mirror": pairing.tolist()}) + "\n")
    print(json.dumps({"faces": len(meshes), "mean_vertex_residual": residual,
                      "self_paired_vertices": int((pairing == np.arange(len(pairing))).sum())}))


if __name__ == "__main__":
    main()
