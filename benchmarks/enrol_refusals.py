"""Enrolment from ordinary photos: every LFW View 1 person enrolled from their first photo (by file name) into one
SQLite gallery, as a new user would, counting the people refused and why.

    .venv/bin/python benchmarks/enrol_refusals.py [--people N] [--min-quality Q]

Prints one JSON document: people, refused, the fraction refused, the refusals by kind (no face, ambiguous, quality,
identity clash, duplicate) and each refusal's source and reason.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from faceatlas import FaceAnalyzer
from faceatlas.gallery import Gallery

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1" / "images"

KINDS = {"AmbiguousFaceError": "ambiguous", "NoFaceError": "no face", "quality": "quality",
         "matches enrolled person": "identity clash", "already enrolled": "duplicate"}


def kind_of(reason: str) -> str:
    return next((kind for key, kind in KINDS.items() if key in reason), "other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=0, help="the first N people (default: all)")
    parser.add_argument("--min-quality", type=float, default=None, help="the gate (default: the setting's)")
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
    by_kind: dict[str, int] = {}
    for refusal in refusals:
        by_kind[refusal["kind"]] = by_kind.get(refusal["kind"], 0) + 1
    print(json.dumps({"benchmark": "enrol_refusals", "machine": platform.platform(), "people": len(people),
                      "min_quality": gate, "refused": len(refusals),
                      "refused_fraction": round(len(refusals) / len(people), 4), "by_kind": by_kind,
                      "seconds": round(time.perf_counter() - start, 1), "refusals": refusals}, indent=1))


if __name__ == "__main__":
    main()
