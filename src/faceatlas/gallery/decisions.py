"""Person-level scores over several samples, and the calibrated thresholds identification decides at.

A gallery search compares one probe with every enrolled person, so false matches add up: at a per-comparison
false-match rate (FMR) f and N comparisons, about N*f of probes of strangers match someone (the false-positive
identification rate, FPIR). `per_comparison_fmr` turns a target FPIR into f = FPIR / N, whose threshold comes from
the recogniser's calibration table (`faceatlas.pipeline.calibrated_threshold`). What counts as a comparison depends
on the template: with `max` every enrolled sample is one (a person with three photos gives a stranger three
chances); with `mean` and `quality` each person is one. Measured on LFW (`benchmarks/gallery_templates.py`):
counting people for `max` let through twice the target FPIR; counting samples keeps it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Template = Literal["max", "mean", "quality"]
TEMPLATES: tuple[Template, ...] = ("max", "mean", "quality")


def per_comparison_fmr(fmr: float | None, fpir: float | None, comparisons: int) -> float:
    """The FMR of one comparison: `fmr` as given, or `fpir` spread over `comparisons` (see `comparisons`)."""
    if (fmr is None) == (fpir is None):
        raise ValueError("give exactly one of fmr (per comparison) or fpir (per search)")
    return float(fmr) if fmr is not None else float(fpir) / max(comparisons, 1)


def comparisons(template: Template, people: int, samples: int) -> int:
    """How many independent chances a stranger gets in one search: every sample for `max`, every person else."""
    return samples if template == "max" else people


def person_scores(subject_ids: np.ndarray, scores: np.ndarray, qualities: np.ndarray,
                  template: Template = "max") -> dict[int, float]:
    """One score per person from the scores of their samples: the best sample (`max`), the mean, or the mean
    weighted by each sample's quality."""
    out: dict[int, float] = {}
    for subject in np.unique(subject_ids):
        mask = subject_ids == subject
        values = scores[mask]
        if template == "max":
            out[int(subject)] = float(values.max())
        elif template == "mean":
            out[int(subject)] = float(values.mean())
        else:
            weights = np.clip(np.nan_to_num(qualities[mask], nan=0.5), 1e-3, None)
            out[int(subject)] = float((values * weights).sum() / weights.sum())
    return out
