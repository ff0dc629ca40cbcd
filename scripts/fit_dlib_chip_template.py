"""Fit where FaceAtlas's five landmarks fall in dlib's face chip, so attribute heads trained on dlib chips (the
Cydral age and gender nets) get the same crop from our landmarks without running dlib.

dlib cuts a chip by the similarity transform that maps its mean-face template onto the 5 points of its own shape
predictor (eye corners, nose base). For each LFW DevTrain image we detect with the default profile, run dlib's
predictor in our box, map our landmarks into dlib's unit chip coordinates, and average. Prints the template and the
mean pixel difference between our chip and dlib's on held-out DevTest images. Needs faceatlas[dlib] and
../shared/data. Run from the repository root:

    .venv/bin/python scripts/fit_dlib_chip_template.py
"""

from __future__ import annotations

import json
from pathlib import Path

import dlib
import numpy as np

from faceatlas import FaceAnalyzer
from faceatlas.align.similarity import similarity_transforms
from faceatlas.attributes.chips import DLIB_SHAPE5_TEMPLATE, template_chips
from faceatlas.eval.pairs import read_pairs
from faceatlas.models import get_card
from faceatlas.models.store import resolve

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1"
SIZE, PADDING = 64, 0.2


def measurements(analyzer: FaceAnalyzer, predictor: dlib.shape_predictor, names: list[str]):
    for shot in analyzer.shots([LFW / "images" / name for name in names], embed=False, subject="centre"):
        if shot.error is not None:
            continue
        faces, rgb = shot.faces, np.ascontiguousarray(shot.image[:, :, ::-1])
        x1, y1, x2, y2 = faces.boxes[0]
        shape = predictor(rgb, dlib.rectangle(int(x1), int(y1), int(x2), int(y2)))
        yield rgb, shape, faces.landmarks5[0]


def image_to_chip(shape: dlib.full_object_detection) -> np.ndarray:
    """The least-squares similarity (2x3) from the image to dlib's chip in unit coordinates (0..1), as dlib's
    `get_face_chip_details` computes it (the other direction)."""
    points = np.array([[p.x, p.y] for p in shape.parts()], np.float64)
    return similarity_transforms(points[None], (PADDING + DLIB_SHAPE5_TEMPLATE) / (2 * PADDING + 1))[0]


def main() -> None:
    predictor = dlib.shape_predictor(str(resolve(get_card("dlib-shape5"))))
    analyzer = FaceAnalyzer()
    train = sorted({n for p in read_pairs(LFW / "pairsDevTrain.txt") for n in (p.a, p.b)})
    test = sorted({n for p in read_pairs(LFW / "pairsDevTest.txt") for n in (p.a, p.b)})[:300]
    placed = []
    for _, shape, ours in measurements(analyzer, predictor, train):
        matrix = image_to_chip(shape)
        placed.append(ours @ matrix[:, :2].T + matrix[:, 2])
    template = np.mean(placed, axis=0)
    spread = float(np.sqrt(((np.array(placed) - template) ** 2).sum(-1)).mean())
    differences = []
    for rgb, shape, ours in measurements(analyzer, predictor, test):
        theirs = dlib.get_face_chip(rgb, shape, size=SIZE, padding=PADDING)
        mine = template_chips(rgb, ours[None], SIZE, template)[0]
        differences.append(float(np.abs(mine.astype(int) - theirs.astype(int)).mean()))
    print(json.dumps({"template_unit_chip": np.round(template, 5).tolist(), "faces": len(placed),
                      "mean_point_spread_unit": round(spread, 5),
                      "devtest_mean_abs_pixel_difference": round(float(np.mean(differences)), 2)}, indent=1))


if __name__ == "__main__":
    main()
