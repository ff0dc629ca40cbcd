"""Anonymisation (`faceatlas.privacy`, `faceatlas anonymize`): each mode hides the faces the pipeline found (on the
astronaut and on face-mask dev photos), leaves every other pixel alone, drops all metadata, keeps the input, and a
broken file in a folder is reported without stopping the others."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import ASTRONAUT, cli, data_path
from PIL import Image

from faceatlas.cli.anonymize import Mode
from faceatlas.io.image import load_image
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.privacy import MODES, AnonymizedImage, anonymize_image, enlarged_boxes, hide_faces, recall_analyzer
from faceatlas.types import Faces

DEV_PHOTOS = ["maksssksksss10.jpg", "maksssksksss109.jpg", "maksssksksss120.jpg", "maksssksksss13.jpg",
              "maksssksksss140.jpg", "maksssksksss141.jpg"]
"""Face-mask dev photos where the default pipeline finds 11 faces (1, 1, 1, 4, 2, 2)."""


@pytest.fixture(scope="module")
def recall() -> FaceAnalyzer:
    return recall_analyzer()


@pytest.fixture(scope="module")
def default() -> FaceAnalyzer:
    return FaceAnalyzer()


def overlapping(found: Faces, faces: Faces) -> list[int]:
    """The faces of `found` whose box overlaps one of `faces` (intersection over union at least 0.3): a face found
    again, not a false detection elsewhere (which the detector's fallback threshold can make)."""
    return [i for i, box in enumerate(found.boxes) if any(iou(box, other) >= 0.3 for other in faces.boxes)]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_cli_offers_every_mode() -> None:
    assert [m.value for m in Mode] == list(MODES)


@pytest.mark.parametrize("mode", list(MODES))
def test_each_mode_hides_the_astronaut_and_nothing_else(mode: str, recall: FaceAnalyzer, default: FaceAnalyzer,
                                                        tmp_path: Path) -> None:
    before_hash = digest(ASTRONAUT)
    found = recall.analyze(ASTRONAUT, embed=False)
    assert len(found) == 1 and len(default.analyze(ASTRONAUT, embed=False)) == 1
    result = anonymize_image(ASTRONAUT, tmp_path / "out.png", mode, analyzer=recall)
    assert isinstance(result, AnonymizedImage)
    assert (result.faces_hidden, result.mode, result.output) == (1, mode, str(tmp_path / "out.png"))
    assert result.to_dict()["faces_hidden"] == 1
    after = Path(result.output)
    assert len(recall.analyze(after, embed=False)) == 0  # not even at the recall threshold
    assert len(default.analyze(after, embed=False)) == 0
    original, hidden = load_image(ASTRONAUT).bgr, load_image(after).bgr
    x0, y0, x1, y1 = enlarged_boxes(found)[0]
    outside = np.ones(original.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(original[outside], hidden[outside])  # PNG: lossless, so exactly
    assert not np.array_equal(original[y0:y1, x0:x1], hidden[y0:y1, x0:x1])
    assert digest(ASTRONAUT) == before_hash


def test_enlarged_boxes_grow_over_the_chin_and_stay_in_the_image(recall: FaceAnalyzer) -> None:
    faces = recall.analyze(ASTRONAUT, embed=False)
    (bx0, by0, bx1, by1), (x0, y0, x1, y1) = faces.boxes[0], enlarged_boxes(faces)[0]
    assert (x1 - x0) == pytest.approx(1.5 * (bx1 - bx0), abs=2)
    assert (by0 - y0) == pytest.approx(0.25 * (by1 - by0), abs=2)  # over the hairline
    assert (y1 - by1) == pytest.approx(0.4 * (by1 - by0), abs=2)  # over the chin
    edge = faces[[0]]
    edge.boxes[:] = [-20, -20, 50, 60]
    assert enlarged_boxes(edge)[0].tolist()[:2] == [0, 0]
    with pytest.raises(ValueError, match="enlarge"):
        enlarged_boxes(faces, 0.5)
    with pytest.raises(ValueError, match="unknown mode"):
        hide_faces(np.zeros((10, 10, 3), np.uint8), faces, "swirl")


def test_a_big_face_is_hidden_as_strongly_as_a_small_one(recall: FaceAnalyzer) -> None:
    """Strength grows with the face: blocks and blur cover a fixed share of the face, whatever its size."""
    small = load_image(ASTRONAUT).bgr
    big = cv2.resize(small, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
    for image in (small, big):
        faces = recall.detect(image)
        assert len(faces) == 1
        for mode in ("blur", "pixelate"):  # (at the recall threshold, the big photo's shuttle is a "face" at 0.31)
            assert not overlapping(recall.detect(hide_faces(image, faces, mode)), faces), mode


def test_metadata_is_gone(recall: FaceAnalyzer, tmp_path: Path) -> None:
    photo = tmp_path / "holiday.jpg"
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPSInfo: Paris
    Image.open(ASTRONAUT).convert("RGB").save(photo, exif=exif, comment=b"secret")
    written = Image.open(photo)
    assert written.getexif().get_ifd(0x8825)  # the input does carry GPS
    result = anonymize_image(photo, tmp_path / "public.jpg", "solid", analyzer=recall)
    out = Image.open(result.output)
    assert result.faces_hidden == 1
    assert not out.getexif() and not out.getexif().get_ifd(0x8825)
    assert not {"exif", "xmp", "comment", "icc_profile", "photoshop"} & set(out.info)
    data = Path(result.output).read_bytes()
    assert b"Exif" not in data and b"CameraMaker" not in data and b"secret" not in data


def test_the_input_is_never_overwritten(recall: FaceAnalyzer, tmp_path: Path) -> None:
    photo = tmp_path / "a.png"
    photo.write_bytes(ASTRONAUT.read_bytes())
    with pytest.raises(ValueError, match="input itself"):
        anonymize_image(photo, photo, analyzer=recall)
    assert digest(photo) == digest(ASTRONAUT)
    assert cli("anonymize", str(photo), str(photo)).returncode == 2
    assert cli("anonymize", str(tmp_path), str(tmp_path / "out")).returncode == 2  # OUT inside IN
    assert digest(photo) == digest(ASTRONAUT)


@pytest.mark.parametrize("mode", list(MODES))
def test_face_mask_dev_photos(mode: str, recall: FaceAnalyzer, default: FaceAnalyzer, tmp_path: Path) -> None:
    """Every face the default pipeline found is gone; the recall pipeline that chose what to hide found more."""
    root = data_path("facemask", "images")
    before = after = hidden = 0
    for name in DEV_PHOTOS:
        result = anonymize_image(root / name, tmp_path / name, mode, analyzer=recall)
        found = default.analyze(root / name, embed=False)
        before += len(found)
        after += len(overlapping(default.analyze(Path(result.output), embed=False), found))
        hidden += result.faces_hidden
    assert (before, after) == (11, 0)
    assert hidden >= before


def test_a_folder_with_a_broken_file(tmp_path: Path) -> None:
    source, output = tmp_path / "in", tmp_path / "out"
    (source / "trip").mkdir(parents=True)
    (source / "astronaut.png").write_bytes(ASTRONAUT.read_bytes())
    Image.open(ASTRONAUT).convert("RGB").save(source / "trip" / "again.jpg")
    (source / "trip" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a JPEG")
    (source / "notes.txt").write_text("not an image")
    hashes = {p: digest(p) for p in source.rglob("*") if p.is_file()}
    run = cli("anonymize", str(source), str(output), "--mode", "pixelate")
    assert run.returncode == 0, run.stderr
    assert "broken.jpg" in run.stderr
    assert "3 files, 2 faces hidden (pixelate), 1 failed" in run.stderr
    assert sorted(str(p.relative_to(output)) for p in output.rglob("*") if p.is_file()) == \
        ["astronaut.png", "trip/again.jpg"]
    assert {p: digest(p) for p in source.rglob("*") if p.is_file()} == hashes
    only_broken = cli("anonymize", str(source / "trip" / "broken.jpg"), str(tmp_path / "b.jpg"))
    assert only_broken.returncode == 3  # ImageDecodeError's exit code
    assert "1 file, 0 faces hidden (blur), 1 failed" in only_broken.stderr


def test_two_inputs_that_would_write_one_output_both_keep_theirs(tmp_path: Path) -> None:
    source, output = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    Image.open(ASTRONAUT).save(source / "a.gif")  # GIF is read, written as PNG
    (source / "a.png").write_bytes(ASTRONAUT.read_bytes())
    run = cli("anonymize", str(source), str(output))
    assert run.returncode == 0 and "2 files, 2 faces hidden" in run.stderr, run.stderr
    assert sorted(p.name for p in output.iterdir()) == ["a.gif.png", "a.png"]
