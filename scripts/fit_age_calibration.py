"""Fit the age head's calibration on the UTKFace development photos (../shared/data/utkface, 1,000 faces), and report
what each step buys, one at a time, per age band, on data the fit did not see.

Steps: the network alone on each face; the mean over the face and its mirror; then an isotonic (monotone) map of
the true age on the expected age; the interval from the distribution's 10th and 90th percentiles, mapped the same way
and widened by the factor that makes it hold the true age 80 % of the time. Reported figures are two-fold
cross-fitted (fitted on one half, measured on the other, both ways); the file written is fitted on all 1,000 faces.
Gender: accuracy and expected calibration error (10 bins) of the network alone and with the mirror, and the
reliability diagram (docs/images/gender-reliability.png).

    .venv/bin/python scripts/fit_age_calibration.py [--write] [--out docs/results/age-calibration.json]

Needs scikit-learn (a dev dependency) for the isotonic fit; the head applies the result with NumPy alone.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from sklearn.isotonic import IsotonicRegression

from faceatlas import FaceAnalyzer
from faceatlas.attributes.age_gender import CALIBRATION_FILE, AgeGenderHead
from faceatlas.eval.attributes import AGE_BANDS, calibration_error

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "utkface"
COVERAGE = 0.8
QUANTILES = (0.1, 0.9)


def faces_of(analyzer: FaceAnalyzer, head: AgeGenderHead) -> dict[str, np.ndarray]:
    """Per photo (the face nearest the centre): the age and gender distributions alone and with the mirror."""
    with open(DATA / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    out: dict[str, list] = {"truth": [], "gender": [], "alone": [], "mirrored": [], "g_alone": [], "g_mirrored": []}
    for shot in analyzer.shots([DATA / row["file"] for row in rows], embed=False, subject="centre", folders=False):
        if shot.error is not None or shot.image is None:
            continue
        row = rows[shot.index]
        rgb = np.ascontiguousarray(shot.image[:, :, ::-1])
        for mirror, key in ((False, "alone"), (True, "mirrored")):
            age_p, gender_p = head.distributions(rgb, shot.faces.landmarks5, mirror)
            out[key].append(age_p[0])
            out["g_" + key].append(gender_p[0])
        out["truth"].append(float(row["age"]))
        out["gender"].append({"0": "male", "1": "female"}[row["gender"]])
    return {k: np.array(v) for k, v in out.items()}


def by_band(truth: np.ndarray, predicted: np.ndarray) -> list[dict]:
    bands = []
    for low, high in AGE_BANDS:
        member = (truth >= low) & (truth < high)
        if member.any():
            bands.append({"band": f"{low}-{'' if high >= 200 else high}", "faces": int(member.sum()),
                          "mae": round(float(np.abs(predicted - truth)[member].mean()), 2)})
    return bands


def fit(expected: np.ndarray, truth: np.ndarray) -> IsotonicRegression:
    return IsotonicRegression(increasing=True, out_of_bounds="clip").fit(expected, truth)


def interval_scale(head: AgeGenderHead, age_p: np.ndarray, truth: np.ndarray, iso: IsotonicRegression) -> float:
    """The widening factor whose interval holds `COVERAGE` of `truth`."""
    ages = head._ages
    cumulative = np.cumsum(age_p, axis=1)
    low, high = (iso.predict(ages[np.minimum((cumulative < q).sum(axis=1), len(ages) - 1)]) for q in QUANTILES)
    age = iso.predict(age_p @ ages)
    needed = np.maximum((age - truth) / np.maximum(age - low, 0.5), (truth - age) / np.maximum(high - age, 0.5))
    return float(np.quantile(np.maximum(needed, 0), COVERAGE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {CALIBRATION_FILE.name}")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    head = AgeGenderHead()
    found = faces_of(FaceAnalyzer(), head)
    truth, ages = found["truth"], head._ages
    alone, mirrored = found["alone"] @ ages, found["mirrored"] @ ages
    halves = np.random.default_rng(0).permutation(len(truth)) % 2
    crossed, covered = np.zeros_like(truth), np.zeros(len(truth), bool)
    for half in (0, 1):
        fitted, held = halves != half, halves == half
        iso = fit(mirrored[fitted], truth[fitted])
        scale = interval_scale(head, found["mirrored"][fitted], truth[fitted], iso)
        crossed[held] = iso.predict(mirrored[held])
        cumulative = np.cumsum(found["mirrored"][held], axis=1)
        low, high = (iso.predict(ages[np.minimum((cumulative < q).sum(axis=1), len(ages) - 1)]) for q in QUANTILES)
        lower = crossed[held] - scale * np.maximum(crossed[held] - low, 0)
        upper = crossed[held] + scale * np.maximum(high - crossed[held], 0)
        covered[held] = (truth[held] >= lower) & (truth[held] <= upper)
    iso = fit(mirrored, truth)
    scale = interval_scale(head, found["mirrored"], truth, iso)
    labels = np.asarray(head._labels)
    gender = {}
    for key in ("alone", "mirrored"):
        probabilities = found["g_" + key]
        right = labels[probabilities.argmax(axis=1)] == found["gender"]
        gender[key] = {"accuracy": round(float(right.mean()), 4),
                       **calibration_error(probabilities.max(axis=1), right)}
    result = {"faces": len(truth), "age_mae": {"network alone": round(float(np.abs(alone - truth).mean()), 3),
                                                "with its mirror": round(float(np.abs(mirrored - truth).mean()), 3),
                                                "mirror and isotonic (cross-fitted)":
                                                    round(float(np.abs(crossed - truth).mean()), 3)},
              "age_by_band": {"network alone": by_band(truth, alone), "with its mirror": by_band(truth, mirrored),
                              "mirror and isotonic (cross-fitted)": by_band(truth, crossed)},
              "interval": {"coverage_target": COVERAGE, "coverage_cross_fitted": round(float(covered.mean()), 3),
                           "scale": round(scale, 3)},
              "gender": gender}
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if args.write:
        CALIBRATION_FILE.write_text(json.dumps({
            "fitted_on": f"UTKFace development photos, {len(truth)} faces (scripts/fit_age_calibration.py)",
            "expected": [round(float(v), 3) for v in iso.X_thresholds_],
            "age": [round(float(v), 3) for v in iso.y_thresholds_],
            "interval": {"coverage": COVERAGE, "quantiles": list(QUANTILES), "scale": round(scale, 3)}}, indent=1)
            + "\n")


if __name__ == "__main__":
    main()
