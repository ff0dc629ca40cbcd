"""Fit where FaceAtlas's five landmarks fall in a FER2013 face crop, so the expression head gets crops in the
geometry it was trained on. Detects (default profile) on the FER2013 PublicTest crops enlarged 3x and averages the
landmarks in unit crop coordinates. Needs ../shared/data. Run from the repository root:

    .venv/bin/python scripts/fit_fer_chip_template.py
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from faceatlas import FaceAnalyzer

FER = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013_public"
SCALE = 3


def main() -> None:
    analyzer = FaceAnalyzer()
    placed = []
    paths = sorted(FER.glob("*/*.png")) + sorted(FER.glob("*/*.jpg"))
    for path in paths:
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        big = cv2.resize(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), None, fx=SCALE, fy=SCALE,
                         interpolation=cv2.INTER_CUBIC)
        faces = analyzer.analyze(big, embed=False).nearest_centre()
        if len(faces):
            placed.append(faces.landmarks5[0] / np.array([big.shape[1], big.shape[0]]))
    template = np.median(placed, axis=0)
    print(json.dumps({"template_unit_crop": np.round(template, 5).tolist(), "faces": len(placed),
                      "images": len(paths)}, indent=1))


if __name__ == "__main__":
    main()
