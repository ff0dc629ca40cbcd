"""Measurement: protocols, metrics and calibration (the harness every published figure and threshold comes from).

    from faceatlas import FaceAnalyzer
    from faceatlas.eval import run_verify, write_report
    result = run_verify(FaceAnalyzer(), "pairs.txt", "images/")   # the JSON envelope `faceatlas eval verify` writes
    result["metrics"]["accuracy_kfold"]["mean"]

Metric modules work on scores alone: `verification`, `identification`, `detection`, `fairness`, `calibration`.
"""

from faceatlas.eval.harness import (
    identification_split,
    run_budget,
    run_calibrate,
    run_detect,
    run_fairness,
    run_identify,
    run_verify,
)
from faceatlas.eval.report import write_report
from faceatlas.eval.results import read_result, write_result

__all__ = ["identification_split", "read_result", "run_budget", "run_calibrate", "run_detect", "run_fairness",
           "run_identify", "run_verify", "write_report", "write_result"]
