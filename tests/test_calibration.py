import numpy as np
import pytest

from faceatlas.errors import CalibrationError
from faceatlas.eval.calibration import PairScores, all_pair_scores, calibrate, threshold_at_fmr
from faceatlas.models.card import Calibration, CalibrationRow


def test_all_pair_scores_splits_genuine_and_impostor():
    embeddings = np.array([[1, 0], [1, 0], [0, 1], [0.6, 0.8]], np.float32)
    scores = all_pair_scores(embeddings, ["a", "a", "b", "b"])
    # 4 images -> 6 pairs: (0,1) a-a and (2,3) b-b genuine; 4 impostor
    assert sorted(scores.genuine.tolist()) == pytest.approx([0.8, 1.0])
    assert sorted(scores.impostor.tolist()) == pytest.approx([0.0, 0.0, 0.6, 0.6])


def test_threshold_at_fmr_allows_at_most_that_fraction_of_impostors():
    impostor = np.arange(1000) / 1000.0  # 0.000 ... 0.999
    threshold = threshold_at_fmr(impostor, 0.01)
    assert np.mean(impostor >= threshold) <= 0.01
    assert np.mean(impostor >= threshold) == pytest.approx(0.01)  # and no stricter than needed
    assert 0.989 < threshold <= 0.990  # just above the 11th-highest impostor score


def test_ties_never_push_the_false_match_rate_over_target():
    impostor = np.array([0.5] * 50 + [0.1] * 950)
    threshold = threshold_at_fmr(impostor, 0.01)
    assert np.mean(impostor >= threshold) <= 0.01


def test_calibrate_keeps_only_resolvable_rows_and_records_counts():
    rng = np.random.default_rng(0)
    scores = PairScores(genuine=rng.normal(0.7, 0.1, 500), impostor=rng.normal(0.0, 0.1, 50_000))
    table = calibrate(scores, data="synthetic")
    assert [row.fmr for row in table.rows] == [1e-2, 1e-3]  # 1e-4 * 50,000 = 5 < 30 false matches
    assert all(row.impostor_pairs == 50_000 for row in table.rows)
    assert table.rows[0].threshold < table.rows[1].threshold
    assert 0 <= table.rows[1].fnmr <= 0.05


def test_threshold_lookup_interpolates_and_refuses_to_extrapolate():
    table = Calibration(data="d", genuine_pairs=1, impostor_pairs=10**6, rows=[
        CalibrationRow(fmr=1e-2, threshold=0.2, impostor_pairs=10**6),
        CalibrationRow(fmr=1e-4, threshold=0.4, impostor_pairs=10**6)])
    assert table.threshold_at(1e-3) == pytest.approx(0.3)
    assert table.threshold_at(1e-2) == pytest.approx(0.2)
    with pytest.raises(CalibrationError, match="outside the calibrated range"):
        table.threshold_at(1e-6)
