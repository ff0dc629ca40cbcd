"""Where the default profile's time goes on LFW photos, by stage, from a profile of `FaceAnalyzer.analyze` per image.

Measured with cProfile (cumulative time of the functions that do each stage), so it runs against any version of
FaceAtlas with the same stage functions: point PYTHONPATH at another checkout's `src` to compare versions on one
machine. Stages: decode (`io.image.load_image`), detect (`YuNetDetector.detect`), refine (`LandmarkRefiner.refine`,
RetinaFace on each face's crop), align (`align_faces`), embed (the recogniser's run on the crops and mirrors), and
the whole call.

    PYTHONPATH=src .venv/bin/python benchmarks/stage_profile.py --images 200 --threads 1

Prints one JSON document (milliseconds per image) on stdout.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lfw_throughput import lfw_photos

STAGES = {
    "decode": ("io/image.py", "load_image"),
    "detect": ("detect/yunet.py", "detect"),
    "refine": ("detect/refine.py", "refine"),
    "align": ("align/similarity.py", "align_faces"),
    "embed": ("embed/onnx_arcface.py", "_run"),
    "analyze": ("pipeline.py", "analyze"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import faceatlas
    from faceatlas import FaceAnalyzer

    paths = lfw_photos(args.images)
    analyzer = FaceAnalyzer(threads=args.threads)
    for path in paths[:5]:
        analyzer.analyze(path)
    profiler = cProfile.Profile()
    profiler.enable()
    for path in paths:
        analyzer.analyze(path)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # (file, line, function) -> (calls, _, total, cumulative, callers)
    found = {}
    for stage, (file, function) in STAGES.items():
        found[stage] = round(1000 * sum(row[3] for (path, _, name), row in stats.items()
                                        if path.endswith(file) and name == function) / len(paths), 3)
    print(json.dumps({"benchmark": "stage_profile", "faceatlas": str(Path(faceatlas.__file__).parent),
                      "images": len(paths), "threads": args.threads, "ms_per_image": found}, indent=1))


if __name__ == "__main__":
    main()
