"""Fit the age head's interval on the UTKFace development photos (../shared/data/utkface, 1,000 faces), and report
what was tried for age and gender, one step at a time, per age band, on data each fit did not see.

Age: the network alone; the mean over the face and its mirror; an isotonic (monotone) map of the true age on the
network's expected age (two-fold cross-fitted: fitted on one half, measured on the other, both ways). The interval
is age ± k spreads, k chosen so that it holds the true age `COVERAGE` of the time; its coverage is reported
cross-fitted, overall and per band, and the file written (`--write`) holds k fitted on all 1,000 faces.
Gender: accuracy and expected calibration error (10 bins) of the network alone and with the mirror, and the
reliability diagram of the head (docs/images/gender-reliability.png with `--plot`).

    .venv/bin/python scripts/fit_age_interval.py [--write] [--plot] [--out docs/results/age-gender-utkface.json]

Needs scikit-learn (a dev dependency) for the isotonic comparison.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from sklearn.isotonic import IsotonicRegression

from faceatlas import FaceAnalyzer
from faceatlas.attributes.age_gender import INTERVAL_FILE, MIN_SPREAD, AgeGenderHead
from faceatlas.eval.attributes import AGE_BANDS, calibration_error

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "utkface"
COVERAGE = 0.8


def faces_of(head: AgeGenderHead) -> dict[str, np.ndarray]:
    """Per photo (the face nearest the centre): the true age and gender, and both networks' outputs as the face is
    and mirrored."""
    with open(DATA / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    out: dict[str, list] = {"truth": [], "gender": [], "age_p": [], "gender_p": []}
    for shot in FaceAnalyzer().shots([DATA / row["file"] for row in rows], embed=False, subject="centre",
                                     folders=False):
        if shot.error is None and shot.image is not None:
            age_p, gender_p = head.distributions(np.ascontiguousarray(shot.image[:, :, ::-1]),
                                                 shot.faces.landmarks5, mirrored_age=True)
            out["age_p"].append(age_p[:, 0])
            out["gender_p"].append(gender_p[:, 0])
            out["truth"].append(float(rows[shot.index]["age"]))
            out["gender"].append({"0": "male", "1": "female"}[rows[shot.index]["gender"]])
    return {key: np.array(values) for key, values in out.items()}


def by_band(truth: np.ndarray, values: np.ndarray, mean_of_error: bool = True) -> dict[str, float]:
    """Per age band: the mean absolute error of `values` (or, with `mean_of_error=False`, the mean of `values`)."""
    out = {}
    for low, high in AGE_BANDS:
        member = (truth >= low) & (truth < high)
        if member.any():
            chosen = np.abs(values - truth)[member] if mean_of_error else values[member]
            out[f"{low}-{'' if high >= 200 else high}"] = round(float(chosen.mean()), 3)
    return out


def multiple(truth: np.ndarray, age: np.ndarray, spread: np.ndarray) -> float:
    """The k for which age ± k spreads holds `COVERAGE` of `truth`."""
    return float(np.quantile(np.abs(truth - age) / np.maximum(spread, MIN_SPREAD), COVERAGE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {INTERVAL_FILE.name}")
    parser.add_argument("--plot", action="store_true", help="write docs/images/gender-reliability.png")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    head = AgeGenderHead()
    found = faces_of(head)
    truth, ages = found["truth"], head._ages
    alone, mirrored = found["age_p"][:, 0] @ ages, found["age_p"].mean(axis=1) @ ages
    spread = np.sqrt(np.maximum(found["age_p"][:, 0] @ ages**2 - alone**2, 0))
    halves = np.random.default_rng(0).permutation(len(truth)) % 2
    isotonic, inside = np.zeros_like(truth), np.zeros(len(truth), bool)
    for half in (0, 1):
        fitted, held = halves != half, halves == half
        isotonic[held] = IsotonicRegression(out_of_bounds="clip").fit(alone[fitted], truth[fitted]).predict(
            alone[held])
        k = multiple(truth[fitted], alone[fitted], spread[fitted])
        inside[held] = np.abs(truth[held] - alone[held]) <= k * np.maximum(spread[held], MIN_SPREAD)
    k = multiple(truth, alone, spread)
    labels = np.asarray(head._labels)
    gender = {}
    for name, probabilities in (("network alone", found["gender_p"][:, 0]),
                                ("with its mirror (the head)", found["gender_p"].mean(axis=1))):
        right = labels[probabilities.argmax(axis=1)] == found["gender"]
        gender[name] = {"accuracy": round(float(right.mean()), 4),
                        **calibration_error(probabilities.max(axis=1), right)}
    result = {
        "faces": len(truth),
        "age_mae": {"network alone (the head)": round(float(np.abs(alone - truth).mean()), 3),
                    "with its mirror": round(float(np.abs(mirrored - truth).mean()), 3),
                    "isotonic, cross-fitted": round(float(np.abs(isotonic - truth).mean()), 3)},
        "age_mae_by_band": {"network alone (the head)": by_band(truth, alone),
                            "with its mirror": by_band(truth, mirrored),
                            "isotonic, cross-fitted": by_band(truth, isotonic)},
        "interval": {"coverage_target": COVERAGE, "std_multiple": round(k, 3),
                     "coverage_cross_fitted": round(float(inside.mean()), 3),
                     "coverage_by_band": by_band(truth, inside.astype(float), mean_of_error=False),
                     "mean_width_years": round(float((2 * k * np.maximum(spread, MIN_SPREAD)).mean()), 1)},
        "gender": gender}
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if args.write:
        INTERVAL_FILE.write_text(json.dumps({
            "fitted_on": f"UTKFace development photos, {len(truth)} faces (scripts/fit_age_interval.py)",
            "coverage": COVERAGE, "std_multiple": round(k, 3)}, indent=1) + "\n")
    if args.plot:
        plot(gender["with its mirror (the head)"]["reliability"], ROOT / "docs" / "images" / "gender-reliability.png")


def plot(rows: list[dict], target: Path) -> None:
    """The reliability diagram: accuracy against stated confidence per bin, faces per bin as bar widths' labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(4.2, 4.2), dpi=100)
    axes.plot([0.5, 1], [0.5, 1], color="grey", linestyle="--", label="perfectly calibrated")
    axes.plot([r["confidence"] for r in rows], [r["accuracy"] for r in rows], marker="o", label="gender head")
    for r in rows:
        axes.annotate(str(r["faces"]), (r["confidence"], r["accuracy"]), textcoords="offset points", xytext=(4, -10),
                      fontsize=7)
    axes.set(xlabel="stated confidence", ylabel="accuracy", xlim=(0.5, 1.0), ylim=(0.3, 1.02),
             title="Gender on UTKFace dev (faces per bin)")
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(target)


if __name__ == "__main__":
    main()
