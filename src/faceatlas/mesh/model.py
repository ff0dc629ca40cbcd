"""Dense landmarks: MediaPipe FaceMesh (468 points in 3D) and Iris (eye contour + iris per eye), run by LiteRT on
rotated crops cut from each face's five landmarks."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceatlas.mesh import roi
from faceatlas.mesh.topology import LEFT_EYE_CORNERS, MESH_POINTS, MESH_ROI_LINE, RIGHT_EYE_CORNERS
from faceatlas.models.registry import get_card
from faceatlas.models.runtime import litert_model
from faceatlas.models.store import resolve

MESH_MODEL, IRIS_MODEL = "facemesh-v1", "iris-v1"
MESH_SIZE, IRIS_SIZE = 192, 64
IRIS_SCALE = 2.3
"""MediaPipe's eye crop: a square 2.3 times the distance between the eye's corners."""


@dataclass(frozen=True)
class MeshResult:
    """Dense landmarks of N faces, in image pixels (z: relative depth, same scale as x, smaller is nearer)."""

    mesh: np.ndarray  # (N, 468, 3)
    presence: np.ndarray  # (N,) probability that the final crop holds a face
    eye_contours: np.ndarray  # (N, 2, 71, 3) image-left eye, image-right eye
    irises: np.ndarray  # (N, 2, 5, 3) centre first


class FaceMesh:
    """468-point mesh plus irises for faces given by their five landmarks.

    `passes=2` re-crops on the first mesh the way MediaPipe tracks a face (bounding square of the mesh, 1.5x); on
    MTFL it did not help (5-point NME 0.0910 against 0.0906 for one pass), so one pass is the default.
    """

    def __init__(self, threads: int = 0, passes: int = 1) -> None:
        if passes < 1:
            raise ValueError("passes must be at least 1")
        self._mesh = litert_model(resolve(get_card(MESH_MODEL)), threads)
        self._iris = litert_model(resolve(get_card(IRIS_MODEL)), threads)
        self.passes = passes

    def predict(self, bgr: np.ndarray, landmarks5: np.ndarray) -> MeshResult:
        n = len(landmarks5)
        if n == 0:
            return MeshResult(np.zeros((0, MESH_POINTS, 3), np.float32), np.zeros(0, np.float32),
                              np.zeros((0, 2, 71, 3), np.float32), np.zeros((0, 2, 5, 3), np.float32))
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        mesh, presence = self._mesh_in(rgb, roi.roi_from_landmarks5(landmarks5))
        for _ in range(self.passes - 1):
            mesh, presence = self._mesh_in(rgb, roi.roi_from_points(mesh[..., :2], *MESH_ROI_LINE, roi.MESH_SCALE))
        contours, irises = self._irises(rgb, mesh)
        return MeshResult(mesh.astype(np.float32), presence.astype(np.float32), contours.astype(np.float32),
                          irises.astype(np.float32))

    def _mesh_in(self, rgb: np.ndarray, rois: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        batch, matrices = roi.crops(rgb, rois, MESH_SIZE)
        points, flag = self._mesh.run(batch)
        points = points.reshape(len(batch), MESH_POINTS, 3).astype(np.float64)
        points[..., :2] -= 0.5  # model coordinates count pixel edges; crop indices are pixel centres
        presence = 1.0 / (1.0 + np.exp(-flag.reshape(-1).astype(np.float64)))
        return roi.to_image(points, matrices), presence

    def _irises(self, rgb: np.ndarray, mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Eye contours and irises; the image-right eye is mirrored first, since the model was trained on the
        other eye (MediaPipe's iris_landmark_cpu)."""
        contours, irises = [], []
        for corners, mirrored in ((LEFT_EYE_CORNERS, False), (RIGHT_EYE_CORNERS, True)):
            eye_rois = roi.roi_from_points(mesh[:, list(corners), :2], 0, 1, IRIS_SCALE)
            batch, matrices = roi.crops(rgb, eye_rois, IRIS_SIZE)
            if mirrored:
                batch = batch[:, :, ::-1]
            contour, iris = self._iris.run(batch)
            contour = contour.reshape(len(batch), 71, 3).astype(np.float64)
            iris = iris.reshape(len(batch), 5, 3).astype(np.float64)
            if mirrored:
                contour[..., 0] = IRIS_SIZE - contour[..., 0]
                iris[..., 0] = IRIS_SIZE - iris[..., 0]
            contour[..., :2] -= 0.5
            iris[..., :2] -= 0.5
            contours.append(roi.to_image(contour, matrices))
            irises.append(roi.to_image(iris, matrices))
        return np.stack(contours, axis=1), np.stack(irises, axis=1)
