"""Sample sources with a fragment: a face of a photo, or of a video frame, found again by its box."""

from __future__ import annotations

import cv2
import numpy as np

from faceatlas.gallery.sources import face_region, face_source


def test_a_fragment_source_gives_the_region_around_the_box(tmp_path):
    photo = tmp_path / "album #2" / "photo.png"
    photo.parent.mkdir()
    cv2.imwrite(str(photo), np.zeros((300, 400, 3), np.uint8))
    assert face_source(str(photo), 12) == f"{photo}#face12"
    assert face_source("v.mp4", 3, 12345) == "v.mp4#t=12.345&face3"
    region = face_region(face_source(str(photo), 12), [100, 100, 150, 160])
    assert region.shape == (180, 150, 3)  # the box and as much again on each side
    assert face_region(face_source(str(photo), 12), [0, 0, 50, 50]).shape == (100, 100, 3)  # clipped at the edge
    assert face_region(str(photo), [100, 100, 150, 160]) is None  # a plain source is the photo itself
    assert face_region(f"{tmp_path / 'gone.png'}#face1", [0, 0, 10, 10]) is None
    assert face_region(f"{photo}#t=soon&face1", [0, 0, 10, 10]) is None
    assert face_region(f"{photo}#t=1.5&face1", [0, 0, 10, 10]) is None  # a photo has no frames
