"""Enrolment from ordinary photos, and what it does to open-set identification. Every LFW View 1 person is enrolled
from their first photo (by file name) into one SQLite gallery, as a new user would; the people refused are counted
by reason. Then the first 900 people are enrolled the same way into a gallery of their own (FPIR 1e-2 over more
would ask SFace's calibration for a per-comparison FMR under its 1e-5), and, at FPIR 1e-2 (`Gallery.identify`'s
default), the face nearest the centre of:
* each enrolled person's second photo (a genuine probe): FNIR is the fraction not named as them (unknown or wrong);
* each UTKFace photo (1,000 strangers to LFW): FPIR is the fraction taken for anyone.

    .venv/bin/python benchmarks/enrol_refusals.py [--people N] [--min-quality Q]

Prints one JSON document: people, refused, the fraction refused, the refusals by kind (no face, ambiguous, quality,
identity clash, duplicate), FNIR and FPIR, each refusal's source and reason, and whether each genuine probe was named
(to compare two runs on the probes they share).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from faceatlas import FaceAnalyzer
from faceatlas.gallery import Gallery
from faceatlas.gallery.results import Identification

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LFW = DATA / "lfw_view1" / "images"

KINDS = {"AmbiguousFaceError": "ambiguous", "NoFaceError": "no face", "quality": "quality",
         "matches enrolled person": "identity clash", "already enrolled": "duplicate"}


def kind_of(reason: str) -> str:
    return next((kind for key, kind in KINDS.items() if key in reason), "other")


def central(results: list[Identification], photo: Path) -> str | None:
    """The decision about the face nearest the photo's centre (None: unknown, or no face)."""
    if not results:
        return None
    middle = np.array(Image.open(photo).size) / 2
    boxes = np.array([r.box for r in results])
    return results[int(np.argmin(np.linalg.norm((boxes[:, :2] + boxes[:, 2:]) / 2 - middle, axis=1)))].decision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=0, help="the first N people (default: all)")
    parser.add_argument("--min-quality", type=float, default=None, help="the gate (default: the setting's)")
    parser.add_argument("--gallery-people", type=int, default=900, help="people in the identification gallery")
    args = parser.parse_args()
    people = sorted(p for p in LFW.iterdir() if p.is_dir())
    people = people[: args.people] if args.people else people
    refusals: list[dict] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        gallery = Gallery(f"sqlite:///{folder}/g.db", analyzer=FaceAnalyzer(), min_quality=args.min_quality,
                          create=True)
        for person in people:
            first = min(person.glob("*.jpg"))
            report = gallery.enroll(person.name, [first])
            refusals += [{"source": first.name, "kind": kind_of(r.reason), "reason": r.reason}
                         for r in report.rejected]
        gate = gallery.min_quality
        # identification: a gallery of the first people enrolled (SFace's calibration reaches FMR 1e-5 per
        # comparison, so FPIR 1e-2 allows about a thousand people)
        small = Gallery(f"sqlite:///{folder}/small.db", analyzer=gallery.analyzer, min_quality=args.min_quality,
                        create=True)
        for person in people[:args.gallery_people]:
            small.enroll(person.name, [min(person.glob("*.jpg"))])
        enrolled = {p.name for p in small.people()}
        genuine = [(p.name, sorted(p.glob("*.jpg"))[1]) for p in people[:args.gallery_people]
                   if p.name in enrolled and len(list(p.glob("*.jpg"))) > 1]
        named = [central(small.identify(photo), photo) == name for name, photo in genuine]
        strangers = sorted((DATA / "utkface").glob("**/*.jpg"))
        taken = [central(small.identify(photo), photo) is not None for photo in strangers]
    by_kind: dict[str, int] = {}
    for refusal in refusals:
        by_kind[refusal["kind"]] = by_kind.get(refusal["kind"], 0) + 1
    print(json.dumps({"benchmark": "enrol_refusals", "machine": platform.platform(), "people": len(people),
                      "min_quality": gate, "refused": len(refusals),
                      "refused_fraction": round(len(refusals) / len(people), 4), "by_kind": by_kind,
                      "identification_gallery": len(enrolled), "genuine_probes": len(genuine),
                      "fnir": round(1 - sum(named) / len(named), 4),
                      "stranger_probes": len(strangers), "fpir": round(sum(taken) / len(taken), 4),
                      "seconds": round(time.perf_counter() - start, 1), "refusals": refusals,
                      "genuine_named": dict(zip([name for name, _ in genuine], named, strict=True))}, indent=1))


if __name__ == "__main__":
    main()
