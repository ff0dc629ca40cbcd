"""Sample sources with a fragment: the photo, or the video frame, a photo library's face was found in."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np

from faceatlas.gallery.sources import fragment_image
from faceatlas.organize.sources import face_source


def test_a_fragment_source_gives_its_photo_and_a_plain_one_nothing(tmp_path):
    photo = tmp_path / "album #2" / "photo.png"  # a "#" in a path is not a fragment
    photo.parent.mkdir()
    pixels = np.full((30, 40, 3), 7, np.uint8)
    cv2.imwrite(str(photo), pixels)
    assert face_source(str(photo), 12) == f"{photo}#face12"
    assert face_source("v.mp4", 3, 12345) == "v.mp4#t=12.345&face3"
    assert np.array_equal(fragment_image(face_source(str(photo), 12)), pixels)
    assert fragment_image(str(photo)) is None  # a plain source is the photo itself
    assert fragment_image(f"{tmp_path / 'gone.png'}#face1") is None
    assert fragment_image(f"{photo}#t=soon&face1") is None
    assert fragment_image(f"{photo}#t=1.5&face1") is None  # a photo has no frames
    content = hashlib.sha256(photo.read_bytes()).hexdigest()
    assert face_source("v.mp4", 3, 12345, content) == f"v.mp4#t=12.345&face3&sha256={content}"
    assert np.array_equal(fragment_image(face_source(str(photo), 12, sha256=content)), pixels)
    cv2.imwrite(str(photo), pixels + 1)  # another picture at that path: the face is not there any more
    assert fragment_image(face_source(str(photo), 12, sha256=content)) is None


def test_migrate_re_embeds_the_face_at_the_box_not_the_largest(tmp_path):
    """A photo library's sample in a group photo: `migrate` takes the face at the sample's box, though a bigger face
    is beside it (the largest-face rule of `enroll` would take that one)."""
    from helpers import ASTRONAUT
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from faceatlas import FaceAnalyzer
    from faceatlas.gallery import Gallery
    from faceatlas.gallery.schema import Sample
    from faceatlas.geometry import iou_matrix

    face = cv2.imread(str(ASTRONAUT))[0:300, 100:350]
    photo = np.full((600, 900, 3), 200, np.uint8)
    photo[100:340, 20:220] = cv2.resize(face, (200, 240))  # the sample's face, small
    photo[60:540, 350:750] = cv2.resize(face, (400, 480))  # a face twice its size beside it
    path = tmp_path / "group.jpg"
    cv2.imwrite(str(path), photo)
    url = f"sqlite:///{tmp_path / 'g.db'}"
    source = Gallery(url, "library", FaceAnalyzer())
    faces = source.analyzer.analyze(path)
    small = int(np.argmin(faces.areas))
    assert len(faces) == 2
    source.add_faces("Eileen", faces.embeddings[[small]], [None], [faces.boxes[small].tolist()],
                     [face_source(str(path), 1)])
    target = Gallery(url, "fast", FaceAnalyzer(profile="fast"))
    assert source.migrate(target).samples_migrated == 1
    with Session(target.engine) as session:
        [box] = session.scalars(select(Sample.box).where(Sample.collection_id == target.collection_id))
    assert iou_matrix(np.array([box]), faces.boxes[[small]])[0, 0] > 0.5
