"""One small face in a large photo: LFW View 1 faces pasted, at a chosen width, into CompreFace's face-free photo
enlarged to 12, 24 and 50 megapixels (JPEG files, decoded by the pipeline as a user's would be), per profile: how
many of the pasted faces are found, the seconds per photo (decode, detection, embedding) and the peak memory of a
process doing only that.

    .venv/bin/python benchmarks/small_faces.py [--profiles default small-faces] [--photos 10] [--widths 40 60]

Prints one JSON document; each (profile, size) runs in its own process, so its peak resident memory is its own.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BACKGROUND = DATA / "compreface_samples" / "017_0.jpg"  # no face in it
SIZES = {"12MP": (4000, 3000), "24MP": (6000, 4000), "50MP": (8192, 6144)}


def make_photos(folder: Path, size: tuple[int, int], widths: list[int], count: int) -> list[dict]:
    """`count` photos per face width: the background at `size` with one LFW face pasted at a random place."""
    from faceatlas import FaceAnalyzer

    finder = FaceAnalyzer(profile="fast")
    faces = sorted((DATA / "lfw_view1" / "images").glob("*/*_0001.jpg"))
    rng = np.random.default_rng(0)
    background = cv2.resize(cv2.imread(str(BACKGROUND)), size, interpolation=cv2.INTER_CUBIC)
    made = []
    for width in widths:
        for number in range(count):
            source = cv2.imread(str(faces[int(rng.integers(len(faces)))]))
            found = finder.analyze(source).nearest_centre()
            if len(found) == 0:
                continue
            box = found.boxes[0]
            scale = width / float(box[2] - box[0])
            small = cv2.resize(source, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            x = int(rng.integers(0, size[0] - small.shape[1]))
            y = int(rng.integers(0, size[1] - small.shape[0]))
            photo = background.copy()
            photo[y:y + small.shape[0], x:x + small.shape[1]] = small
            path = folder / f"{size[0]}x{size[1]}_{width}px_{number}.jpg"
            cv2.imwrite(str(path), photo, [cv2.IMWRITE_JPEG_QUALITY, 92])
            made.append({"path": str(path), "width": width, "centre": [x + float(box[0] + box[2]) / 2 * scale,
                                                                       y + float(box[1] + box[3]) / 2 * scale]})
    return made


def run_one(profile: str, photos: list[dict]) -> dict:
    """In this process: each photo analysed (embeddings included) by `profile`; found, seconds, peak memory."""
    from faceatlas import FaceAnalyzer

    analyzer = FaceAnalyzer(profile=profile)
    analyzer.analyze(np.zeros((64, 64, 3), np.uint8))  # models loaded outside the timing
    seconds, found = [], {}
    for photo in photos:
        start = time.perf_counter()
        faces = analyzer.analyze(photo["path"])
        seconds.append(time.perf_counter() - start)
        x, y = photo["centre"]
        hit = any(b[0] <= x <= b[2] and b[1] <= y <= b[3] and 0.5 < (b[2] - b[0]) / photo["width"] < 2
                  for b in faces.boxes)
        key = f"{photo['width']}px"
        found.setdefault(key, [0, 0])
        found[key] = [found[key][0] + hit, found[key][1] + 1]
    return {"profile": profile, "found": {k: f"{a}/{n}" for k, (a, n) in found.items()},
            "median_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profiles", nargs="+", default=["default", "small-faces"])
    parser.add_argument("--photos", type=int, default=10, help="photos per size and face width")
    parser.add_argument("--widths", type=int, nargs="+", default=[40, 60], help="pasted face widths (pixels)")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: profile and photo list file, for one process
    args = parser.parse_args()
    if args.one:
        profile, listing = args.one.split(":", 1)
        print(json.dumps(run_one(profile, json.loads(Path(listing).read_text()))))
        return
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            photos = make_photos(Path(folder), SIZES[size], args.widths, args.photos)
            listing = Path(folder) / f"{size}.json"
            listing.write_text(json.dumps(photos))
            for profile in args.profiles:
                done = subprocess.run([sys.executable, __file__, "--one", f"{profile}:{listing}"], check=True,
                                      capture_output=True, text=True)
                rows.append({"size": size, **json.loads(done.stdout.strip().splitlines()[-1])})
                print(json.dumps(rows[-1]), file=sys.stderr)
            for photo in photos:
                Path(photo["path"]).unlink()
    print(json.dumps({"benchmark": "small_faces", "machine": platform.platform(), "photos_per_width": args.photos,
                      "results": rows}, indent=1))


if __name__ == "__main__":
    main()
