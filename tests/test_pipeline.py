"""FaceAnalyzer end to end on real photos with the real default models."""

import numpy as np
import pytest
from helpers import ASTRONAUT
from PIL import Image

from faceatlas import FaceAnalyzer, NoFaceError
from faceatlas.io.image import load_image


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


def test_astronaut_has_one_face_with_ordered_landmarks(analyzer):
    faces = analyzer.analyze(ASTRONAUT)
    assert len(faces) == 1
    x1, y1, x2, y2 = faces.boxes[0]
    assert 150 < x1 < 200 and 40 < y1 < 90 and 250 < x2 < 290 and 150 < y2 < 200
    eye_left, eye_right, nose, mouth_left, mouth_right = faces.landmarks5[0]
    assert eye_left[0] < nose[0] < eye_right[0] and mouth_left[0] < mouth_right[0]
    assert max(eye_left[1], eye_right[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    assert faces.embeddings.shape == (1, 128) and faces.embeddings.dtype == np.float32
    assert np.linalg.norm(faces.embeddings[0]) == pytest.approx(1.0, abs=1e-5)
    assert faces.embedding_model == "sface-2021dec-int8bq" and faces.source == str(ASTRONAUT)


def test_every_input_kind_gives_the_same_faces(analyzer):
    rgb = np.asarray(Image.open(ASTRONAUT).convert("RGB"))
    reference = analyzer.analyze(ASTRONAUT)
    for source, color in [(ASTRONAUT.read_bytes(), "bgr"), (rgb, "rgb"), (rgb[:, :, ::-1].copy(), "bgr"),
                          (Image.open(ASTRONAUT), "bgr"), (str(ASTRONAUT), "bgr")]:
        faces = analyzer.analyze(source, color=color)
        np.testing.assert_allclose(faces.boxes, reference.boxes, atol=0.01)
        assert float(faces.embeddings[0] @ reference.embeddings[0]) > 0.999


def test_declaring_the_wrong_colour_order_changes_the_embedding(analyzer):
    rgb = np.asarray(Image.open(ASTRONAUT).convert("RGB"))
    right, wrong = analyzer.analyze(rgb, color="rgb"), analyzer.analyze(rgb, color="bgr")
    assert float(right.embeddings[0] @ wrong.embeddings[0]) < 0.99


def test_a_photo_without_faces_gives_empty_faces_and_verify_says_why(analyzer):
    blank = np.full((480, 640, 3), 128, np.uint8)
    faces = analyzer.analyze(blank)
    assert len(faces) == 0 and faces.embeddings.shape == (0, 128)
    with pytest.raises(NoFaceError, match="no face found"):
        analyzer.verify(blank, ASTRONAUT)


def test_verify_same_face_and_mirror(analyzer):
    bgr = load_image(ASTRONAUT).bgr
    result = analyzer.verify(bgr, bgr[:, ::-1].copy(), fmr=1e-4)
    assert result.same and result.score > result.threshold > 0
    assert result.fmr == 1e-4 and result.model == "sface-2021dec-int8bq"


def test_verify_different_people_at_strict_fmr(analyzer):
    from skimage import data

    camera_man = np.repeat(data.camera()[:, :, None], 3, axis=2)
    result = analyzer.verify(ASTRONAUT, camera_man, fmr=1e-3)
    assert not result.same and result.score < result.threshold


def test_profiles_share_one_output_shape():
    for profile in ("retinaface", "dlib", "fused"):
        faces = FaceAnalyzer(profile=profile).analyze(ASTRONAUT)
        assert len(faces) == 1 and faces.landmarks5.shape == (1, 5, 2)
        assert np.linalg.norm(faces.embeddings, axis=1) == pytest.approx(1.0, abs=1e-5)
    assert FaceAnalyzer(profile="fused").analyze(ASTRONAUT).embeddings.shape == (1, 256)


def test_flip_augmentation_makes_embeddings_mirror_invariant():
    bgr = load_image(ASTRONAUT).bgr
    mirrored = bgr[:, ::-1].copy()
    plain, flipped = FaceAnalyzer(flip=False), FaceAnalyzer(flip=True)
    plain_score = float(plain.analyze(bgr).embeddings[0] @ plain.analyze(mirrored).embeddings[0])
    flip_score = float(flipped.analyze(bgr).embeddings[0] @ flipped.analyze(mirrored).embeddings[0])
    assert flip_score > plain_score and flip_score > 0.97
