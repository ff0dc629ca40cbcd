"""5-point similarity alignment (Umeyama, vectorised over faces) to the ArcFace 112x112 template."""

from __future__ import annotations

import cv2
import numpy as np

ARCFACE_TEMPLATE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    np.float32,
)
"""Where the five landmarks (image-left eye, image-right eye, nose, mouth left, mouth right) land in a 112x112 crop."""


def similarity_transforms(landmarks: np.ndarray, template: np.ndarray = ARCFACE_TEMPLATE_112) -> np.ndarray:
    """Least-squares similarity transforms (rotation, uniform scale, translation) mapping each face's points
    onto the template: `landmarks` (N, K, 2) -> (N, 2, 3) affine matrices."""
    src = np.asarray(landmarks, np.float64)
    dst = np.asarray(template, np.float64)[None]
    src_mean, dst_mean = src.mean(1, keepdims=True), dst.mean(1, keepdims=True)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = np.einsum("nki,nkj->nij", dst_c, src_c) / src.shape[1]
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones((len(src), 2))
    sign[np.linalg.det(u) * np.linalg.det(vt) < 0, 1] = -1
    rotation = np.einsum("nij,nj,njk->nik", u, sign, vt)
    variance = (src_c**2).sum((1, 2)) / src.shape[1]
    scale = (singular * sign).sum(1) / np.where(variance > 0, variance, 1)
    linear = rotation * scale[:, None, None]
    translation = dst_mean[:, 0] - np.einsum("nij,nj->ni", linear, src_mean[:, 0])
    return np.concatenate([linear, translation[:, :, None]], axis=2).astype(np.float32)


def align_faces(image: np.ndarray, landmarks: np.ndarray, size: int = 112,
                template: np.ndarray = ARCFACE_TEMPLATE_112) -> np.ndarray:
    """Aligned crops (N, size, size, 3) from one image, template scaled from 112 to `size`."""
    matrices = similarity_transforms(landmarks, template * (size / 112.0))
    crops = np.empty((len(matrices), size, size, 3), np.uint8)
    for i, matrix in enumerate(matrices):
        crops[i] = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crops
