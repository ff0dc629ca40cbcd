"""Expression accuracy on FER2013 PublicTest (../shared/data/fer2013_public) by the views the expression head combines,
one method at a time: the network alone on each 48x48 crop (resized to 64, as it was trained), then with its mirror,
at three zooms, zooms and mirrors, and all ten views (`faceatlas.attributes.expression`). Each crop is one face
filling it (`faceatlas.pipeline.face_crop_faces`), cut exactly as the head cuts it; views are combined by the
geometric mean of their probabilities.

    .venv/bin/python benchmarks/expression_views.py [--out FILE]

Prints one JSON document: images, and the accuracy of each combination.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from faceatlas.attributes.chips import FER_CROP_TEMPLATE, template_chips
from faceatlas.attributes.expression import SHIFTS, ZOOMS, ExpressionHead
from faceatlas.pipeline import face_crop_faces

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013_public"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    head = ExpressionHead()
    paths = sorted(p for p in DATA.glob("*/*") if p.suffix == ".jpg")
    truth = np.array([p.parent.name for p in paths])
    views: dict[str, list[np.ndarray]] = {}
    for path in paths:
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        landmarks = face_crop_faces(gray.shape[1], gray.shape[0]).landmarks5
        for zoom in ZOOMS:
            chip = template_chips(gray, landmarks, 64, 0.5 + (FER_CROP_TEMPLATE - 0.5) * zoom)[0]
            views.setdefault(f"zoom {zoom:.3f}", []).append(chip)
            views.setdefault(f"zoom {zoom:.3f} mirrored", []).append(chip[:, ::-1])
        for shift in SHIFTS:
            views.setdefault(f"shift {shift}", []).append(
                template_chips(gray, landmarks, 64, FER_CROP_TEMPLATE + np.float32(shift) / 64)[0])
    logs = {name: np.log(head.probabilities_of_crops(np.stack(chips)) + 1e-9) for name, chips in views.items()}
    names = list(logs)
    combinations = {"network alone": names[:1], "with its mirror": names[:2], "three zooms": names[0:6:2],
                    "zooms and mirrors": names[:6], "all ten views": names}

    def accuracy(members: list[str]) -> float:
        combined = np.mean([logs[m] for m in members], axis=0)
        return round(float(np.mean(head.labels[combined.argmax(axis=1)] == truth)), 4)

    result = {"benchmark": "expression_views", "images": len(paths),
              "accuracy": {label: accuracy(members) for label, members in combinations.items()},
              "views": {name: accuracy([name]) for name in names}}
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
