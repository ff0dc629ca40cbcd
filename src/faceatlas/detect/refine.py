"""Landmark refinement: a second detector looks at each face's crop, and its five points are averaged with the first.

Two detectors' landmark errors are partly independent, so their mean aligns faces better: on all LFW View 1 pairs,
SFace's false non-match rate at FMR 1e-5 falls from 3.8 % (YuNet points) to 3.3 % (YuNet and RetinaFace averaged).
Looking only at a crop around each face keeps the cost at a few milliseconds per face.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from faceatlas.detect.base import Detector
from faceatlas.geometry import iou_matrix
from faceatlas.types import Faces

SAME_FACE_IOU = 0.4
"""A face the second detector finds in the whole picture confirms a first detection it overlaps this much."""

UNCONFIRMED = 0.5
"""The factor on the score of an unsure face (scored under `confirm_below`) that the second detector does not find:
at the operating thresholds (0.6, 0.3 on the retry) such a face is dropped; ranked at lower thresholds (for AP), it
falls behind the faces both detectors see."""


class LandmarkRefiner:
    """Averages each face's landmarks with those `detector` finds on a `size`-pixel crop around the face (give the
    detector `input_size=LandmarkRefiner.size` so it runs on the crop as cut)."""

    size = 224  # crop side in pixels

    def __init__(self, detector: Detector, context: float = 2.0, confirm_below: float = 0.0) -> None:
        self.detector = detector
        self.context = context  # crop side, in face-box sides
        self.confirm_below = confirm_below  # a face the first detector scored lower needs seeing again here

    def refine(self, bgr: np.ndarray, faces: Faces) -> Faces:
        """The faces with their landmarks averaged where the second detector finds the same face; the score of a
        face under `confirm_below` that it does not find is multiplied by `UNCONFIRMED` (a poster, a pattern, a
        painted face: the caller drops what then falls under its threshold)."""
        if len(faces) == 0:
            return faces
        landmarks = faces.landmarks5.copy()
        seen = np.zeros(len(faces), bool)
        for i, box in enumerate(faces.boxes):
            scale = self.size / (self.context * max(box[2] - box[0], box[3] - box[1], 1.0))
            centre = (box[:2] + box[2:]) / 2
            warp = np.array([[scale, 0, self.size / 2 - scale * centre[0]],
                             [0, scale, self.size / 2 - scale * centre[1]]], np.float32)
            crop = cv2.warpAffine(bgr, warp, (self.size, self.size), flags=cv2.INTER_LINEAR)
            found = self.detector.detect(crop)
            if len(found) == 0:
                continue
            found_centres = (found.boxes[:, :2] + found.boxes[:, 2:]) / 2
            nearest = int(np.argmin(((found_centres - self.size / 2) ** 2).sum(1)))
            points = (found.landmarks5[nearest] - warp[:, 2]) / scale
            if np.abs(points - landmarks[i]).max() < 0.25 * (box[2] - box[0]):  # the same face, not a neighbour
                landmarks[i] = (landmarks[i] + points) / 2
                seen[i] = True
        doubted = ~seen & (faces.scores < self.confirm_below)
        if doubted.any():  # a face filling the picture has no context to crop around: look at the whole picture
            whole = self.detector.detect(bgr)
            if len(whole):
                doubted &= iou_matrix(faces.boxes, whole.boxes).max(axis=1) < SAME_FACE_IOU
        return replace(faces, landmarks5=landmarks, scores=np.where(doubted, faces.scores * UNCONFIRMED,
                                                                    faces.scores).astype(np.float32))
