"""False detections per image through the pipeline's detection (detector, its low-threshold retry when nothing is
found, landmark refinement and confirmation), per profile, beside the face-mask AP that must not fall:

* face-free: scikit-image's photographs and textures without a human face (a cat, a horse, coffee, coins, text,
  bricks, grass, ...), CompreFace's photo with no face, and 300 crops of the face-mask photos that overlap no
  annotated face (its walls, clothes, signs and crowds' backgrounds): every detection there is false;
* portraits: UTKFace's 1,000 photos of one person (200 px, the face filling the middle): a detection whose centre
  is outside the middle half of the picture, or a second one inside it, is false;
* face-mask AP and recall at IoU 0.5 (`faceatlas eval detect`'s protocol).

    .venv/bin/python benchmarks/false_detections.py [--profiles default fast]

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
from pathlib import Path

import cv2
import numpy as np
import skimage.data
from skimage.util import img_as_ubyte

from faceatlas import FaceAnalyzer
from faceatlas.eval import harness

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FACE_FREE_SKIMAGE = ("brick", "cat", "chelsea", "clock", "coffee", "coins", "colorwheel", "grass", "gravel", "horse",
                     "hubble_deep_field", "immunohistochemistry", "logo", "moon", "page", "rocket", "text")


def face_free_images(crops: int) -> list[np.ndarray]:
    """Pictures without a human face: scikit-image's, CompreFace's, and crops of face-mask photos away from faces."""
    pictures = []
    for name in FACE_FREE_SKIMAGE:
        image = img_as_ubyte(np.asarray(getattr(skimage.data, name)()))
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image[..., 2::-1][..., :3]
        pictures.append(np.ascontiguousarray(image.astype(np.uint8)))
    pictures.append(cv2.imread(str(DATA / "compreface_samples" / "017_0.jpg")))
    boxes: dict[str, list[list[float]]] = {}
    with open(DATA / "facemask" / "boxes.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            boxes.setdefault(row["image"], []).append([float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax")])
    rng = np.random.default_rng(0)
    names = sorted(boxes)
    tries = 0
    while len(pictures) < len(FACE_FREE_SKIMAGE) + 1 + crops and tries < 100 * crops:
        tries += 1
        name = names[int(rng.integers(len(names)))]
        photo = cv2.imread(str(DATA / "facemask" / name))
        side = int(rng.integers(96, 200))
        height, width = photo.shape[:2]
        if width <= side or height <= side:
            continue
        x, y = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
        margin = 0.5  # keep clear of faces and of the heads around them
        if any(x < b[2] + margin * (b[2] - b[0]) and b[0] - margin * (b[2] - b[0]) < x + side
               and y < b[3] + margin * (b[3] - b[1]) and b[1] - margin * (b[3] - b[1]) < y + side
               for b in boxes[name]):
            continue
        pictures.append(photo[y:y + side, x:x + side].copy())
    return pictures


def count_false(analyzer: FaceAnalyzer, pictures: list[np.ndarray], portraits: bool) -> tuple[int, int]:
    """(false detections, images): on portraits, those away from the middle of the picture."""
    false = 0
    for shot in analyzer.shots(pictures, embed=False, folders=False):
        boxes = shot.faces.boxes
        if portraits:
            height, width = shot.image.shape[:2]
            centres = (boxes[:, :2] + boxes[:, 2:]) / 2
            off = np.abs(centres - np.array([width, height]) / 2) / np.array([width, height])
            on_face = (off < 0.25).all(axis=1)
            false += int((~on_face).sum()) + max(0, int(on_face.sum()) - 1)
        else:
            false += len(boxes)
    return false, len(pictures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", nargs="+", default=["default", "fast"])
    parser.add_argument("--crops", type=int, default=300, help="face-free crops of face-mask photos")
    args = parser.parse_args()
    free = face_free_images(args.crops)
    utk = sorted((DATA / "utkface").glob("**/*.jpg"))
    portraits = [cv2.imread(str(p)) for p in utk]
    rows = []
    for profile in args.profiles:
        analyzer = FaceAnalyzer(profile=profile)
        on_free, free_images = count_false(analyzer, free, portraits=False)
        on_portraits, portrait_images = count_false(analyzer, portraits, portraits=True)
        mask = harness.run_detect(analyzer, DATA / "facemask" / "boxes.csv", DATA / "facemask")["metrics"]
        rows.append({"profile": profile, "face_free_images": free_images, "false_on_face_free": on_free,
                     "false_per_face_free_image": round(on_free / free_images, 4), "portraits": portrait_images,
                     "false_on_portraits": on_portraits,
                     "false_per_portrait": round(on_portraits / portrait_images, 4),
                     "facemask_ap": round(mask["ap"], 4), "facemask_recall": round(mask["recall"], 4),
                     "facemask_fp_per_image": round(mask["fp_per_image"], 4)})
    print(json.dumps({"benchmark": "false_detections", "machine": platform.platform(), "results": rows}, indent=1))


if __name__ == "__main__":
    main()
