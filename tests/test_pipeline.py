"""FaceAnalyzer end to end on real photos with the real default models."""

import io

import numpy as np
import pytest
from helpers import ASTRONAUT
from PIL import Image

from faceatlas import FaceAnalyzer, ImageDecodeError, NoFaceError
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


def test_shots_take_every_kind_of_source_in_order_and_a_bad_one_does_not_stop_them(analyzer, tmp_path):
    import pickle

    folder = tmp_path / "folder"
    (folder / "deeper").mkdir(parents=True)
    (folder / "deeper" / "copy.png").write_bytes(ASTRONAUT.read_bytes())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    rgb = np.asarray(Image.open(ASTRONAUT).convert("RGB"))
    sources = [ASTRONAUT, b"garbage", rgb[:, :, ::-1].copy(), Image.open(ASTRONAUT), folder]
    shots = list(analyzer.shots(sources))
    assert [shot.index for shot in shots] == [0, 1, 2, 3, 4, 5]  # the folder's two files follow, sorted
    assert [shot.source for shot in shots] == [str(ASTRONAUT), None, None, None, str(folder / "broken.jpg"),
                                               str(folder / "deeper" / "copy.png")]
    assert [type(shot.error).__name__ if shot.error else None for shot in shots] == \
        [None, "ImageDecodeError", None, None, "ImageDecodeError", None]
    alone = analyzer.analyze(ASTRONAUT)
    for shot in (shots[0], shots[2], shots[3], shots[5]):  # batched with the others: the same faces as alone
        assert len(shot.faces) == 1 and float(shot.faces.embeddings[0] @ alone.embeddings[0]) > 0.9999
        assert set(shot.ms) >= {"decode", "detect", "embed"}
    kept_apart = list(analyzer.shots([folder, ASTRONAUT], folders=False))  # positions kept: a folder is one item
    assert [type(shot.error).__name__ if shot.error else None for shot in kept_apart] == ["ImageDecodeError", None]
    [odd] = analyzer.shots([io.BytesIO(ASTRONAUT.read_bytes())])  # not a kind of picture: an error, not a crash
    assert type(odd.error).__name__ == "ImageDecodeError"
    with pytest.raises(ImageDecodeError):
        analyzer.analyze(folder)  # one image at a time
    with pytest.raises(TypeError, match="one image is analysed at a time"):
        analyzer.analyze([ASTRONAUT, ASTRONAUT])
    rebuilt = pickle.loads(pickle.dumps(analyzer.spec)).build()  # a worker process's analyzer
    assert rebuilt.spec == analyzer.spec
    assert float(rebuilt.analyze(ASTRONAUT).embeddings[0] @ alone.embeddings[0]) > 0.9999


def test_shots_pick_the_subject_and_say_why_a_picture_has_none(analyzer):
    blank = np.full((200, 200, 3), 128, np.uint8)
    pair = np.concatenate([load_image(ASTRONAUT).bgr] * 2, axis=1)  # the same face twice, side by side
    found, empty, twins = analyzer.shots([ASTRONAUT, blank, pair], subject="alone")
    assert len(found.faces) == 1 and found.error is None
    assert type(empty.error).__name__ == "NoFaceError" and "no face found" in str(empty.error)
    assert type(twins.error).__name__ == "AmbiguousFaceError" and len(twins.faces) == 0
    assert len(analyzer.analyze(pair, subject="largest")) == 1


def test_a_video_gives_a_shot_per_frame_taken(analyzer, tmp_path):
    import cv2

    bgr = cv2.resize(load_image(ASTRONAUT).bgr, (256, 256))
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (256, 256))
    for _ in range(20):  # two seconds at 10 frames a second
        writer.write(bgr)
    writer.release()
    every = list(analyzer.shots(tmp_path / "clip.avi", every=0))
    sampled = list(analyzer.shots(tmp_path / "clip.avi", every=0.5))
    assert len(every) == 20 and [shot.frame for shot in every] == list(range(20))
    assert [shot.time_ms for shot in sampled] == [0, 500, 1000, 1500]
    assert all(len(shot.faces) == 1 and shot.source == str(tmp_path / "clip.avi") for shot in sampled)
    [unasked] = analyzer.shots(tmp_path / "clip.avi")
    assert unasked.error is not None  # a video gives frames only when they are asked for


def test_unsure_detections_need_a_second_detectors_confirmation():
    """Without a face, YuNet's retry at a low threshold 'finds' one on a cat, a coffee cup and a deep-sky photo
    (scores 0.35-0.43); the default profile keeps such an unsure face only if RetinaFace finds it on its crop too."""
    from skimage import data

    fast, default = FaceAnalyzer(profile="fast"), FaceAnalyzer()
    for name in ("chelsea", "coffee", "hubble_deep_field"):
        picture = np.ascontiguousarray(getattr(data, name)()[..., ::-1])
        unsure = fast.detect(picture)
        assert len(unsure) == 1 and unsure.scores[0] < 0.5 and unsure.meta["fallback"]
        confirmed = default.detect(picture)
        assert len(confirmed) == 0 and confirmed.meta["unconfirmed"] == 1
        with pytest.raises(NoFaceError, match="did not confirm"):
            default.analyze(picture, subject="largest")
    assert len(default.detect(load_image(ASTRONAUT).bgr)) == 1  # a sure face needs no confirmation


def test_a_small_picture_filled_by_a_face_is_one_face_crop():
    """FER2013-style 48x48 crops are not cut again (into a worse chip) from a detector's landmarks: one face, the whole
    picture; a small picture without a face has none."""
    import cv2

    fer_like = cv2.resize(cv2.imread(str(ASTRONAUT))[40:200, 150:290], (40, 48), interpolation=cv2.INTER_AREA)
    crop = FaceAnalyzer().analyze(fer_like, embed=False)
    assert len(crop) == 1 and crop.meta["crop"] and crop.boxes[0].tolist() == [0, 0, 40, 48]
    assert (crop.landmarks5[0, :, 0] < 40).all() and crop.landmarks5[0, 0, 1] < crop.landmarks5[0, 3, 1]
    assert len(FaceAnalyzer().analyze(np.full((48, 48, 3), 128, np.uint8), embed=False)) == 0
