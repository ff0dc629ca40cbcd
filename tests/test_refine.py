import numpy as np
from helpers import ASTRONAUT

from faceatlas.detect import create_detector
from faceatlas.detect.refine import LandmarkRefiner
from faceatlas.io.image import load_image
from faceatlas.models import get_card
from faceatlas.types import Faces


def test_refined_points_lie_between_the_two_detectors():
    bgr = load_image(ASTRONAUT).bgr
    yunet = create_detector(get_card("yunet-2023mar-int8bq"))
    retina = create_detector(get_card("retinaface-mnet025"))
    first, second = yunet.detect(bgr), retina.detect(bgr)
    refined = LandmarkRefiner(retina).refine(bgr, first)
    np.testing.assert_array_equal(refined.boxes, first.boxes)
    # halfway between YuNet's points and RetinaFace's (which, on a crop, differ from its full-image points by < 3 px)
    np.testing.assert_allclose(refined.landmarks5, (first.landmarks5 + second.landmarks5) / 2, atol=2.0)
    assert np.abs(refined.landmarks5 - first.landmarks5).max() > 0.5


def test_nothing_found_on_the_crop_keeps_the_original_points():
    blank = np.full((300, 300, 3), 127, np.uint8)
    faces = Faces(boxes=np.array([[100, 100, 200, 200]], np.float32), scores=np.ones(1, np.float32),
                  landmarks5=np.full((1, 5, 2), 150, np.float32), image_size=(300, 300))
    refiner = LandmarkRefiner(create_detector(get_card("retinaface-mnet025")))
    np.testing.assert_array_equal(refiner.refine(blank, faces).landmarks5, faces.landmarks5)
    assert len(refiner.refine(blank, faces[[]])) == 0
