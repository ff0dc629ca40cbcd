"""Which person-level template wins, and do calibrated identification decisions keep their promise, on LFW View 1.

Split: every person with three or more photos has their first two (sorted by path) enrolled and the rest are mated
probes; people with one photo are non-mated probes (strangers). Templates: `max` (best sample), `mean`, `quality`
(mean weighted by each enrolled photo's quality score). For each: rank-1, FNIR at FPIR 1e-2 / 1e-3 with thresholds
set on these strangers (NIST style), and the gallery's own calibrated decision — FMR per comparison = FPIR / the
comparisons a search makes (`faceatlas.gallery.decisions`), threshold from the SFace card — with the FPIR and FNIR
it actually gives.

    .venv/bin/python benchmarks/gallery_templates.py [--cache /tmp/evalcache]

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import platform
from collections import defaultdict
from pathlib import Path

import numpy as np

from faceatlas import FaceAnalyzer
from faceatlas.errors import CalibrationError
from faceatlas.eval.embedding import embed_centre_faces
from faceatlas.eval.identification import fnir_at_fpir
from faceatlas.eval.identities import load_identities
from faceatlas.gallery.decisions import TEMPLATES, comparisons, per_comparison_fmr, person_scores
from faceatlas.pipeline import calibrated_threshold

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw_view1" / "images"
FPIRS = (1e-2, 1e-3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    analyzer = FaceAnalyzer()
    labelled = load_identities(LFW)
    embedded = embed_centre_faces(analyzer, [p for p, _ in labelled], cache_dir=args.cache)
    by_person: dict[str, list[int]] = defaultdict(list)
    order = sorted(range(len(labelled)), key=lambda i: str(labelled[i][0]))
    for i in order:
        if embedded.found[i]:
            by_person[labelled[i][1]].append(i)
    people = sorted(p for p, rows in by_person.items() if len(rows) >= 3)
    strangers = [rows[0] for p, rows in by_person.items() if len(rows) == 1]
    enrolled = [(code, i) for code, p in enumerate(people) for i in by_person[p][:2]]
    mated = [(code, i) for code, p in enumerate(people) for i in by_person[p][2:]]
    qualities = embedded.quality[[i for _, i in enrolled]]  # the quality head's score of each enrolled face
    subjects = np.array([code for code, _ in enrolled])
    gallery = embedded.embeddings[[i for _, i in enrolled]]
    vectors = embedded.embeddings
    card = analyzer.recogniser_card
    results = {}
    for template in TEMPLATES:
        def scores_of(rows: list[int], template: str = template) -> np.ndarray:
            out = np.empty((len(rows), len(people)))
            for r, i in enumerate(rows):
                per = person_scores(subjects, gallery @ vectors[i], qualities, template)
                out[r] = [per[c] for c in range(len(people))]
            return out

        mated_all = scores_of([i for _, i in mated])
        truth = np.array([code for code, _ in mated])
        mate_score = mated_all[np.arange(len(truth)), truth]
        ranks = (mated_all >= mate_score[:, None]).sum(axis=1)
        stranger_top = scores_of(strangers).max(axis=1)
        calibrated = []
        for fpir in FPIRS:
            fmr = per_comparison_fmr(None, fpir, comparisons(template, len(people), len(enrolled)))
            try:
                threshold = calibrated_threshold(card, fmr)
            except CalibrationError as error:  # the gallery refuses too: no extrapolation
                calibrated.append({"fpir_target": fpir, "fmr_per_comparison": fmr, "refused": str(error)[:80]})
                continue
            calibrated.append({"fpir_target": fpir, "fmr_per_comparison": fmr, "threshold": threshold,
                               "fpir_measured": float(np.mean(stranger_top >= threshold)),
                               "fnir": float(np.mean(~((ranks == 1) & (mate_score >= threshold))))})
        results[template] = {"rank1": float(np.mean(ranks == 1)),
                             "fnir_at_fpir": fnir_at_fpir(mate_score, ranks, stranger_top, FPIRS),
                             "calibrated_decisions": calibrated}
    print(json.dumps({"benchmark": "gallery_templates", "machine": platform.platform(),
                      "people_enrolled": len(people), "enrolled_photos": len(enrolled),
                      "mated_probes": len(mated), "stranger_probes": len(strangers),
                      "model": card.id, "results": results}, indent=1))


if __name__ == "__main__":
    main()
