"""Fit the 468 -> 68 mapping (`faceatlas.mesh.topology.IBUG68`): for each mirror pair of iBUG 68-point landmarks,
the mirror pair of mesh vertices (each midline landmark: a midline vertex) with the lowest mean error (by
outer-eye-corner distance) on dlib's training faces (`dlib_faces/faces/training_with_face_landmarks.xml`, 18 faces);
pairing keeps the mapping symmetric, which halves what 18 faces must decide. `faceatlas eval landmarks --source mesh` on
`testing_with_face_landmarks.xml` (25 other faces) measures it. Needs ../shared/data. Run from the repository root:

    .venv/bin/python scripts/fit_mesh_ibug68.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from faceatlas import FaceAnalyzer
from faceatlas.eval.landmarks import load_landmarks
from faceatlas.mesh.pose import canonical_mirror

IBUG_MIRROR = np.array([*range(16, -1, -1), *range(26, 16, -1), 27, 28, 29, 30, *range(35, 30, -1),
                        45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40, *range(54, 47, -1), 59, 58, 57, 56, 55,
                        64, 63, 62, 61, 60, 67, 66, 65])
"""The iBUG index of each landmark's mirror image (image-left jaw end <-> image-right jaw end, ...)."""

FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "dlib_faces" / "faces"


def main() -> None:
    truth = load_landmarks(FACES / "training_with_face_landmarks.xml")
    analyzer = FaceAnalyzer(heads=["mesh"])
    meshes, kept = [], []
    for shot in analyzer.shots(truth.paths, embed=False):
        faces, i = shot.faces, shot.index
        if shot.error is not None or len(faces) == 0:
            continue
        box_centres = (faces.boxes[:, :2] + faces.boxes[:, 2:]) / 2
        nearest = int(np.argmin(np.linalg.norm(box_centres - truth.eye_centres[i].mean(axis=0), axis=1)))
        meshes.append(faces.attributes["landmarks468"][nearest, :, :2])
        kept.append(i)
    points = truth.points[kept]
    interocular = np.linalg.norm(points[:, 45] - points[:, 36], axis=1)
    errors = np.linalg.norm(np.asarray(meshes)[:, None] - points[:, :, None], axis=-1) / interocular[:, None, None]
    mean_error = errors.mean(axis=0)  # (68, 468)
    mirror = canonical_mirror()
    mapping = np.zeros(68, int)
    for landmark in range(68):
        twin = IBUG_MIRROR[landmark]
        if twin == landmark:
            candidates = np.flatnonzero(mirror == np.arange(len(mirror)))
            mapping[landmark] = candidates[mean_error[landmark, candidates].argmin()]
        elif landmark < twin:
            mapping[landmark] = (mean_error[landmark] + mean_error[twin, mirror]).argmin()
            mapping[twin] = mirror[mapping[landmark]]
    print(json.dumps({"faces": len(kept), "ibug68": mapping.tolist(),
                      "training_nme": float(mean_error[np.arange(68), mapping].mean())}))


if __name__ == "__main__":
    main()
