"""Blinks and attention over a video: the largest face of every frame through the `fast` profile and the mesh
head, eye openness into `BlinkDetector`. No blink annotations exist for these clips, so `--strip` writes the eye
region of the five frames around each detected blink into one PNG to check by eye.

    .venv/bin/python benchmarks/blinks_video.py ../shared/data/videos/WolfgangLanger_Pexels.mp4 [--strip blinks.png]

Prints one JSON document: frames, frames with a face, blinks (start, end in seconds), blinks per minute, the
spread of eye openness, the fraction of frames looking at the camera, and the median milliseconds per frame.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from faceatlas import FaceAnalyzer
from faceatlas.mesh.eyes import BlinkDetector


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--strip", type=Path, default=None, help="write a PNG of the eyes around each blink")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    capture = cv2.VideoCapture(str(args.video))
    if not capture.isOpened():
        raise SystemExit(f"cannot read video {args.video}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    analyzer = FaceAnalyzer(profile="fast", threads=args.threads, heads=["mesh"])
    detector = BlinkDetector()
    blinks, openness, looking, elapsed, eyes = [], [], [], [], {}
    index = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        start = time.perf_counter()
        face = analyzer.analyze(frame, embed=False).largest()
        if len(face):
            a = face.attributes
            value = float((a["left_eye_openness"][0] + a["right_eye_openness"][0]) / 2)
            elapsed.append((time.perf_counter() - start) * 1000)
            openness.append(value)
            looking.append(bool(a["looking_at_camera"][0]))
            blink = detector.update(index / fps, value)
            if blink:
                blinks.append(blink)
            x1, y1, x2, y2 = (int(v) for v in face.boxes[0])
            eyes[index] = cv2.resize(frame[max(y1, 0):max(y1, 0) + (y2 - y1) // 2, max(x1, 0):x2], (160, 80))
        index += 1
    if args.strip and blinks:
        rows = []
        for blink in blinks:
            first = round(blink.start * fps)
            frames = [eyes.get(k, np.zeros((80, 160, 3), np.uint8)) for k in range(first - 2, first + 3)]
            rows.append(np.hstack(frames))
        cv2.imwrite(str(args.strip), np.vstack(rows))
    seconds = index / fps
    print(json.dumps({
        "benchmark": "blinks_video", "video": str(args.video), "fps": round(fps, 3), "frames": index,
        "frames_with_face": len(openness), "seconds": round(seconds, 2),
        "blinks": [[round(b.start, 2), round(b.end, 2)] for b in blinks],
        "blinks_per_minute": round(60 * len(blinks) / seconds, 1) if seconds else None,
        "openness_percentiles_5_50_95": np.percentile(openness, [5, 50, 95]).round(3).tolist() if openness else None,
        "looking_at_camera_fraction": round(float(np.mean(looking)), 3) if looking else None,
        "median_ms_per_frame": round(float(np.median(elapsed)), 1) if elapsed else None}, indent=1))


if __name__ == "__main__":
    main()
