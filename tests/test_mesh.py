"""Face mesh, head pose and eyes: crop geometry and the rigid fit on constructed cases, the real MediaPipe models on
the astronaut (mirrored and rotated), blink detection on constructed openness series, and the pose metrics."""

import numpy as np
import pytest
from helpers import ASTRONAUT

from faceatlas import FaceAnalyzer
from faceatlas.eval.landmarks import load_landmarks, nme
from faceatlas.eval.pose import agreement_metrics, bin_metrics, fit_yaw_edges, mirror_metrics, yaw_bins
from faceatlas.io.image import load_image
from faceatlas.mesh import roi
from faceatlas.mesh.eyes import BlinkDetector, gaze_angles, looking_at_camera
from faceatlas.mesh.pose import canonical_mesh, canonical_mirror, euler_angles, head_pose, rigid_fit
from faceatlas.types import Faces


def rotation(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """R = Rz(roll) Ry(yaw) Rx(-pitch), the convention of `euler_angles` (angles in degrees)."""
    y, p, r = np.radians([yaw, -pitch, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def test_crop_matrices_round_trip_and_level_the_eyes():
    rois = np.array([[100.0, 80.0, 60.0, np.radians(30)]])
    matrix = roi.crop_to_image(rois, 192)
    centre = roi.to_image(np.array([[[96.0, 96.0]]]), matrix)
    assert np.allclose(centre, [[[100.0, 80.0]]])
    corner_to_corner = roi.to_image(np.array([[[0.0, 96.0], [192.0, 96.0]]]), matrix)[0]
    assert np.linalg.norm(corner_to_corner[1] - corner_to_corner[0]) == pytest.approx(60.0)
    direction = corner_to_corner[1] - corner_to_corner[0]
    assert np.degrees(np.arctan2(direction[1], direction[0])) == pytest.approx(30.0)
    points = np.array([[[10.0, 10.0], [30.0, 10.0 + 20 * np.tan(np.radians(20))], [20.0, 40.0]]])
    assert np.degrees(roi.roi_from_points(points, 0, 1, 1.5)[0, 3]) == pytest.approx(20.0)
    depth = roi.to_image(np.array([[[96.0, 96.0, 192.0]]]), matrix)
    assert depth[0, 0, 2] == pytest.approx(60.0)  # depth scales like x and y


def test_rigid_fit_recovers_pose_with_the_documented_signs():
    canonical = canonical_mesh()
    for yaw, pitch, roll in ((20, 0, 0), (0, 15, 0), (0, 0, -25), (-35, -10, 12)):
        target = 3.0 * canonical @ rotation(yaw, pitch, roll).T + [50.0, 60.0, 5.0]
        r, scale, translation = rigid_fit(canonical, target[None])
        assert scale[0] == pytest.approx(3.0) and np.allclose(translation[0], [50, 60, 5], atol=1e-6)
        assert np.allclose(euler_angles(r)[0], [yaw, pitch, roll], atol=1e-6)
    # yaw > 0: the nose (nearest the camera, smallest z) moves towards the image left
    turned = canonical @ rotation(yaw=30).T
    nose = np.argmin(canonical[:, 2])
    assert turned[nose, 0] < canonical[nose, 0]


def test_canonical_mesh_is_mirror_symmetric():
    canonical, mirror = canonical_mesh(), canonical_mirror()
    assert canonical.shape == (468, 3) and np.array_equal(mirror[mirror], np.arange(468))
    assert np.abs(canonical[mirror] * [-1, 1, 1] - canonical).max() < 1e-4
    assert np.allclose(head_pose(canonical[None]), 0, atol=1e-6)


@pytest.fixture(scope="module")
def mesh_analyzer() -> FaceAnalyzer:
    return FaceAnalyzer(heads=["mesh"])


def test_mesh_on_the_astronaut_mirrored_and_rotated(mesh_analyzer):
    import cv2

    bgr = load_image(ASTRONAUT).bgr
    faces = mesh_analyzer.analyze(bgr, embed=False)
    a = faces.attributes
    assert a["landmarks468"].shape == (1, 468, 3) and a["mesh_confidence"][0] > 0.9
    x1, y1, x2, y2 = faces.boxes[0]
    inside = (a["landmarks468"][0, :, 0] > x1 - 5) & (a["landmarks468"][0, :, 0] < x2 + 5)
    assert inside.mean() > 0.95
    interocular = np.linalg.norm(faces.landmarks5[0, 1] - faces.landmarks5[0, 0])
    assert np.linalg.norm(a["iris_centres"][0] - faces.landmarks5[0, :2], axis=1).max() < 0.15 * interocular
    assert a["left_eye_openness"][0] > 0.2 and a["right_eye_openness"][0] > 0.2  # her eyes are open
    assert np.allclose(faces.pose[0], [a["yaw"][0], a["pitch"][0], a["roll"][0]]) and faces.quality is None
    mirrored = mesh_analyzer.analyze(np.ascontiguousarray(bgr[:, ::-1]), embed=False).attributes
    assert mirrored["yaw"][0] == pytest.approx(-a["yaw"][0], abs=3)
    assert mirrored["roll"][0] == pytest.approx(-a["roll"][0], abs=3)
    assert mirrored["pitch"][0] == pytest.approx(a["pitch"][0], abs=3)
    centre = (float((x1 + x2) / 2), float((y1 + y2) / 2))
    turned = cv2.warpAffine(bgr, cv2.getRotationMatrix2D(centre, -25, 1.0), (bgr.shape[1], bgr.shape[0]))
    rolled = mesh_analyzer.analyze(turned, embed=False).attributes  # image turned 25 degrees clockwise
    assert rolled["roll"][0] - a["roll"][0] == pytest.approx(25, abs=4)


def test_mesh_head_with_no_faces(mesh_analyzer):
    faces = mesh_analyzer.describe(np.zeros((100, 100, 3), np.uint8), Faces.empty((100, 100)))
    assert faces.attributes["landmarks468"].shape == (0, 468, 3) and faces.attributes["yaw"].shape == (0,)


def test_blinks_are_short_closures_that_reopen():
    fps = 30.0
    openness = [0.3] * 60 + [0.08] * 4 + [0.3] * 60 + [0.08] * 45 + [0.3] * 30
    detector = BlinkDetector()
    blinks = [b for i, v in enumerate(openness) if (b := detector.update(i / fps, v))]
    assert len(blinks) == 1  # the 1.5-second closure is not a blink
    assert blinks[0].start == pytest.approx(60 / fps) and blinks[0].end == pytest.approx(64 / fps)
    closed_first = BlinkDetector()
    events = [closed_first.update(i / fps, v) for i, v in enumerate([0.08] * 30 + [0.3] * 30)]
    assert not any(events)


def test_gaze_adds_the_eyes_to_the_head():
    pose = np.array([[0.0, 0.0, 0.0], [20.0, 0.0, 0.0], [20.0, 0.0, 0.0]])
    offsets = np.zeros((3, 2, 2))
    offsets[2, :, 0] = np.sin(np.radians(20)) / 2.4  # irises towards the image right: eyes turned back
    gaze = gaze_angles(pose, offsets)
    assert np.allclose(gaze[:, 0], [0, 20, 0], atol=1e-6)
    assert looking_at_camera(gaze).tolist() == [True, False, True]


def test_pose_metrics_on_constructed_data():
    yaw = np.array([40.0, 20.0, 5.0, -3.0, -20.0, -40.0])
    truth = np.array([1, 2, 3, 3, 4, 5])
    assert yaw_bins(yaw, (10, 30)).tolist() == truth.tolist()
    metrics = bin_metrics(yaw, truth, (10, 30))
    assert metrics["accuracy"] == 1.0 and metrics["confusion"][2] == [0, 0, 2, 0, 0]
    assert bin_metrics(yaw, truth, (2, 30))["accuracy"] == pytest.approx(4 / 6)
    lo, hi = fit_yaw_edges(yaw, truth)
    assert 5 < lo <= 20 and 20 < hi <= 40
    pose = np.array([[10.0, 5.0, 2.0], [-4.0, 1.0, 0.0]])
    mirror = mirror_metrics(pose, np.array([[-9.0, 5.0, -2.0], [4.0, 3.0, 0.0]]))
    assert mirror["yaw_mae"] == pytest.approx(0.5) and mirror["pitch_mae"] == pytest.approx(1.0)
    assert agreement_metrics(pose, pose + 1)["roll_mad"] == pytest.approx(1.0)


def test_68_point_annotations_load_and_normalise_by_the_outer_eye_corners(tmp_path):
    parts = "".join(f"<part name='{i:02d}' x='{i}' y='{2 * i}'/>" for i in range(68))
    (tmp_path / "faces.xml").write_text(
        f"<dataset><images><image file='a.jpg'><box top='0' left='0' width='9' height='9'>{parts}</box>"
        "<box top='0' left='0' width='9' height='9'/></image></images></dataset>")
    truth = load_landmarks(tmp_path / "faces.xml")
    assert truth.points.shape == (1, 68, 2) and truth.paths == [tmp_path / "a.jpg"]
    assert np.allclose(truth.eye_centres[0], [[38.5, 77.0], [44.5, 89.0]])
    shifted = truth.points.copy()
    shifted[0, 0] += [9 * np.sqrt(5) / 10, 0]  # a tenth of the 36-45 distance, 9*sqrt(5)
    assert nme(shifted, truth.points)[0, 0] == pytest.approx(0.1)
