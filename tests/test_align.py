import cv2
import numpy as np

from faceatlas.align import ARCFACE_TEMPLATE_112, align_faces, similarity_transforms


def test_recovers_a_known_similarity_transform_for_many_faces():
    rng = np.random.default_rng(0)
    landmarks, expected = [], []
    for _ in range(50):
        angle, scale, shift = rng.uniform(-1, 1), rng.uniform(0.3, 3), rng.uniform(-200, 200, 2)
        rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        # points that the transform (rotation, shift) maps exactly onto the template
        points = (np.linalg.inv(rotation) @ (ARCFACE_TEMPLATE_112 - shift).T).T
        landmarks.append(points)
        expected.append(np.column_stack([rotation, shift]))
    matrices = similarity_transforms(np.array(landmarks))
    np.testing.assert_allclose(matrices, np.array(expected), atol=1e-3)


def test_matches_opencv_least_squares_on_noisy_points():
    rng = np.random.default_rng(1)
    points = ARCFACE_TEMPLATE_112 * 1.7 + 40 + rng.normal(0, 2, (5, 2))
    ours = similarity_transforms(points[None])[0]
    theirs, _ = cv2.estimateAffinePartial2D(points, ARCFACE_TEMPLATE_112, method=cv2.LMEDS)
    mapped_ours = points @ ours[:, :2].T + ours[:, 2]
    mapped_theirs = points @ theirs[:, :2].T + theirs[:, 2]
    # ours is the least-squares optimum: never worse than OpenCV's robust estimate
    err_ours = ((mapped_ours - ARCFACE_TEMPLATE_112) ** 2).sum()
    err_theirs = ((mapped_theirs - ARCFACE_TEMPLATE_112) ** 2).sum()
    assert err_ours <= err_theirs + 1e-6


def test_align_faces_puts_landmarks_on_the_template():
    image = np.zeros((300, 300, 3), np.uint8)
    points = ARCFACE_TEMPLATE_112 * 2 + 50
    for x, y in points:
        cv2.circle(image, (round(float(x)), round(float(y))), 3, (255, 255, 255), -1)
    crops = align_faces(image, points[None], size=112)
    assert crops.shape == (1, 112, 112, 3)
    for x, y in ARCFACE_TEMPLATE_112:
        assert crops[0, round(float(y)), round(float(x))].max() > 200
    assert align_faces(image, np.zeros((0, 5, 2))).shape == (0, 112, 112, 3)
