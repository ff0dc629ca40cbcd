"""Named vertices of the MediaPipe 468-point face mesh (indices as in MediaPipe's canonical face model).

"Image-left" is the side on the left of a photo, i.e. the subject's right.
"""

from __future__ import annotations

import numpy as np

MESH_POINTS = 468

NOSE_TIP = 1
MOUTH_LEFT, MOUTH_RIGHT = 61, 291  # image-left and image-right mouth corners
LEFT_EYE_CORNERS = (33, 133)  # image-left eye, corners from image-left to image-right: outer, inner
RIGHT_EYE_CORNERS = (362, 263)  # image-right eye, corners from image-left to image-right: inner, outer
MESH_ROI_LINE = (33, 263)  # MediaPipe levels its tracking crop on the two outer eye corners

CONTOUR_CORNERS = (0, 8)  # in the iris model's 71-point eye contour: outer and inner corner
CONTOUR_LIDS = ((11, 3), (12, 4), (13, 5))  # (upper, lower) lid pairs in the middle of the eye (mesh 160/144, ...)


IBUG68 = np.array([127, 137, 177, 58, 172, 150, 149, 148, 152, 377, 378, 379, 397, 288, 401, 366, 356, 70, 63, 105,
                   66, 55, 285, 296, 334, 293, 300, 168, 197, 195, 4, 240, 97, 164, 326, 460, 7, 159, 158, 155, 153,
                   144, 382, 385, 386, 249, 373, 380, 43, 74, 72, 12, 302, 304, 273, 406, 313, 18, 83, 182, 146, 82,
                   13, 312, 375, 315, 16, 85])
"""The mesh vertex standing in for each iBUG 68-point landmark (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47,
mouth 48-67), mirror-symmetric; fitted on dlib's 18 training faces by `scripts/fit_mesh_ibug68.py`."""


def mesh_points(mesh: np.ndarray, iris_centres: np.ndarray, count: int) -> np.ndarray:
    """(N, count, 2) points read off a mesh (N, 468, >=2) and its iris centres (N, 2, >=2): five
    (`landmarks5_from_mesh`) or the iBUG 68 (`IBUG68`)."""
    if count == 5:
        return landmarks5_from_mesh(mesh, iris_centres)
    if count == 68:
        return mesh[:, IBUG68, :2]
    raise ValueError(f"no mapping from the mesh to {count} points (5 or 68)")


def landmarks5_from_mesh(mesh: np.ndarray, iris_centres: np.ndarray) -> np.ndarray:
    """(N, 5, 2) points in FaceAtlas order from a mesh (N, 468, >=2) and iris centres (N, 2, >=2): eye = iris
    centre (the pupil, as MTFL annotates it), nose = vertex 1 (tip), mouth corners = vertices 61 and 291."""
    return np.stack([iris_centres[:, 0, :2], iris_centres[:, 1, :2], mesh[:, NOSE_TIP, :2],
                     mesh[:, MOUTH_LEFT, :2], mesh[:, MOUTH_RIGHT, :2]], axis=1)
