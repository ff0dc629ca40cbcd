"""Face chips in the geometry attribute models were trained on, cut from FaceAtlas's five landmarks."""

from __future__ import annotations

import cv2
import numpy as np

from faceatlas.align.similarity import similarity_transforms
from faceatlas.types import Faces

DLIB_SHAPE5_TEMPLATE = np.array([[0.8595674595992, 0.2134981538014], [0.6460604764104, 0.2289674387677],
                                 [0.1205750620789, 0.2137274526848], [0.3340850613712, 0.2290642403242],
                                 [0.4901123135679, 0.6277975316475]])
"""dlib's mean-face positions of its 5-point shape predictor's parts (unit chip, before padding)."""

OUR_POINTS_IN_DLIB_CHIP = np.array([[0.30525, 0.29184], [0.69274, 0.29304], [0.49944, 0.52092],
                                    [0.33156, 0.70708], [0.66543, 0.70834]])
"""Where FaceAtlas's landmarks (eyes, nose, mouth corners) fall in a dlib chip with padding 0.2, in unit chip
coordinates; the mean over 3,443 LFW DevTrain faces (default profile), fitted by `scripts/fit_dlib_chip_template.py`
(per-face spread 0.033 of the chip side)."""


FER_CROP_TEMPLATE = np.array([[0.31791, 0.37305], [0.69494, 0.37118], [0.50619, 0.59466], [0.34928, 0.76213],
                              [0.66649, 0.76214]])
"""Where FaceAtlas's landmarks fall in a FER2013 crop (unit coordinates): the median over 3,530 PublicTest crops,
fitted by `scripts/fit_fer_chip_template.py`."""


def template_chips(image: np.ndarray, landmarks5: np.ndarray, size: int, template: np.ndarray) -> np.ndarray:
    """(N, size, size[, C]) crops placing each face's landmarks on `template` (unit coordinates, pixel centres at
    +0.5), by a least-squares similarity; borders replicate the edge so chips near the frame stay natural."""
    matrices = similarity_transforms(landmarks5, template * size - 0.5)
    chips = np.empty((len(matrices), size, size, *image.shape[2:]), np.uint8)
    for i, matrix in enumerate(matrices):
        chips[i] = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
    return chips


def face_crop_faces(width: int, height: int) -> Faces:
    """The one face of a face crop: its box the whole picture, its five landmarks where they lie in FER2013's crops
    (`attributes.chips.FER_CROP_TEMPLATE`), score 1 and `meta["crop"]` set (found by no detector)."""
    landmarks = (FER_CROP_TEMPLATE * np.float32([width, height]) - 0.5).astype(np.float32)[None]
    return Faces(boxes=np.float32([[0, 0, width, height]]), scores=np.ones(1, np.float32), landmarks5=landmarks,
                 image_size=(width, height), detector=None, meta={"crop": True})
