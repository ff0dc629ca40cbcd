"""Dense landmarks, head pose and eyes: one head over the MediaPipe FaceMesh and Iris models."""

from __future__ import annotations

import numpy as np

from faceatlas.mesh.eyes import eye_openness, gaze_angles, iris_offsets, looking_at_camera
from faceatlas.mesh.model import IRIS_MODEL, MESH_MODEL, FaceMesh
from faceatlas.mesh.pose import head_pose
from faceatlas.types import Faces


class MeshHead:
    """Columns: `landmarks468` (N, 468, 3: x, y pixels, z relative depth), `iris_centres` (N, 2, 2), the mesh
    model's `mesh_confidence`, head `yaw`/`pitch`/`roll` in degrees, `left_eye_openness`/`right_eye_openness` (eye
    aspect ratio; image-left and image-right eye), `gaze_yaw`/`gaze_pitch` and `looking_at_camera`."""

    name = "mesh"
    model_ids = (MESH_MODEL, IRIS_MODEL)
    columns = ("landmarks468", "iris_centres", "mesh_confidence", "yaw", "pitch", "roll", "left_eye_openness",
               "right_eye_openness", "gaze_yaw", "gaze_pitch", "looking_at_camera")

    def __init__(self, threads: int = 0) -> None:
        self._threads = threads
        self._mesh: FaceMesh | None = None

    def predict(self, bgr: np.ndarray, faces: Faces, aligned: np.ndarray | None = None) -> dict[str, np.ndarray]:
        if self._mesh is None:
            self._mesh = FaceMesh(self._threads)
        result = self._mesh.predict(bgr, faces.landmarks5)
        pose = head_pose(result.mesh)
        openness = eye_openness(result.eye_contours)
        gaze = gaze_angles(pose, iris_offsets(result.mesh, result.irises[:, :, 0]))
        return {"landmarks468": result.mesh, "iris_centres": result.irises[:, :, 0, :2],
                "mesh_confidence": result.presence, "yaw": pose[:, 0].astype(np.float32),
                "pitch": pose[:, 1].astype(np.float32), "roll": pose[:, 2].astype(np.float32),
                "left_eye_openness": openness[:, 0].astype(np.float32),
                "right_eye_openness": openness[:, 1].astype(np.float32),
                "gaze_yaw": gaze[:, 0].astype(np.float32), "gaze_pitch": gaze[:, 1].astype(np.float32),
                "looking_at_camera": looking_at_camera(gaze)}
