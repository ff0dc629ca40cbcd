"""Eval metrics against hand-computed values on small fixtures, and against scikit-learn as an independent check."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from faceatlas.eval import detection, fairness, identification, verification
from faceatlas.eval.pairs import read_pairs

# Ten pairs whose best accuracy is known by hand: sorted scores with labels
#   0.10 I, 0.20 I, 0.30 G, 0.40 I, 0.50 I, 0.60 G, 0.70 G, 0.80 I, 0.90 G, 0.95 G
# thresholds between 0.50 and 0.60 accept 5 (4 genuine + the 0.80 impostor): 4 + 4 = 8 right -> accuracy 0.8.
SCORES = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
SAME = np.array([0, 0, 1, 0, 0, 1, 1, 0, 1, 1], bool)


def test_best_threshold_on_ten_pairs_gives_the_hand_computed_accuracy():
    threshold = verification.best_threshold(SCORES, SAME)
    assert threshold == pytest.approx(0.55)
    assert verification.accuracy(SCORES, SAME, threshold) == pytest.approx(0.8)


def test_best_threshold_breaks_ties_towards_the_lowest_threshold():
    # accuracy 0.75 at a threshold below 0.2 and equally above 0.3 (0.2 G, 0.3 I): the lowest wins
    scores, same = np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 1, 0, 1], bool)
    assert verification.best_threshold(scores, same) == pytest.approx(0.15)
    # identical scores with both labels: one candidate per distinct value, never between equal scores
    tied = verification.best_threshold(np.array([0.5, 0.5, 0.5]), np.array([1, 0, 1], bool))
    assert tied < 0.5


def test_kfold_uses_thresholds_from_the_other_folds_and_survives_a_fold_without_impostors():
    scores = np.array([0.9, 0.8, 0.2, 0.1, 0.7, 0.3, 0.85, 0.75])
    same = np.array([1, 1, 0, 0, 1, 0, 1, 1], bool)
    folds = np.array([0, 0, 0, 0, 1, 1, 2, 2])  # fold 2 holds genuine pairs only
    result = verification.kfold_accuracy(scores, same, folds)
    assert [row["fold"] for row in result["folds"]] == [0, 1, 2]
    assert result["folds"][2]["impostor"] == 0
    # every training set separates perfectly, so each fold is classified perfectly
    assert result["mean"] == pytest.approx(1.0)
    # fold 0's threshold comes from folds 1 and 2 only: midpoint of 0.3 (impostor) and 0.7 (genuine)
    assert result["folds"][0]["threshold"] == pytest.approx(0.5)


def test_roc_and_eer_agree_with_scikit_learn_and_a_hand_value():
    curve = verification.roc(SCORES, SAME)
    fpr, tpr, thresholds = roc_curve(SAME, SCORES, drop_intermediate=False)
    # scikit-learn prepends an infinite threshold (0, 0); the rest are the same points
    np.testing.assert_allclose(curve["fmr"], fpr[1:])
    np.testing.assert_allclose(curve["tmr"], tpr[1:])
    np.testing.assert_allclose(curve["threshold"], thresholds[1:])
    # at threshold 0.6: FMR 1/5 (0.8), FNMR 1/5 (0.3): the curves cross exactly there
    eer = verification.equal_error_rate(SCORES, SAME)
    assert eer["eer"] == pytest.approx(0.2)


def test_tar_at_far_rows_stop_where_the_impostor_count_cannot_express_the_rate():
    rows = verification.tar_at_far(SCORES, SAME, (0.2, 0.1, 1e-3))
    assert [row["far"] for row in rows] == [0.2]  # 5 impostors: 0.1 would allow 0.5 false matches
    # at most one impostor may score >= t: t just above 0.5, TAR = 4/5
    assert rows[0]["tar"] == pytest.approx(0.8) and rows[0]["far_measured"] == pytest.approx(0.2)
    assert rows[0]["impostor_pairs"] == 5 and rows[0]["reliable"] is False


def test_lfw_pairs_formats_and_csv(tmp_path: Path):
    view1 = tmp_path / "pairsDevTest.txt"
    view1.write_text("2\nAnn\t1\t2\nBob\t3\t4\nAnn\t1\tBob\t2\nCid\t1\tDee\t1\n")
    pairs = read_pairs(view1, folds=2)
    assert pairs[0].a == "Ann/Ann_0001.jpg" and pairs[0].b == "Ann/Ann_0002.jpg" and pairs[0].same
    assert pairs[2].b == "Bob/Bob_0002.jpg" and not pairs[2].same
    assert [p.fold for p in pairs] == [0, 1, 0, 1]  # matched and mismatched split round-robin separately
    view2 = tmp_path / "pairs.txt"
    view2.write_text("2\t1\nAnn\t1\t2\nAnn\t1\tBob\t2\nBob\t1\t2\nCid\t1\tDee\t1\n")
    assert [p.fold for p in read_pairs(view2)] == [0, 0, 1, 1]
    view2.write_text("2\t2\nAnn\t1\t2\n")
    with pytest.raises(ValueError, match="promises 2 folds"):
        read_pairs(view2)
    table = tmp_path / "pairs.csv"
    table.write_text("a,b,same,fold\nx.jpg,y.jpg,1,3\nx.jpg,z.jpg,false,4\n")
    assert [(p.same, p.fold) for p in read_pairs(table)] == [(True, 3), (False, 4)]
    table.write_text("left,right\nx,y\n")
    with pytest.raises(ValueError, match="a, b, same"):
        read_pairs(table)


def test_identification_split_ranks_cmc_and_open_set_rates():
    items = [("a1", "A"), ("a2", "A"), ("a3", "A"), ("b1", "B"), ("b2", "B"), ("c1", "C"), ("d1", "D")]
    split = identification.split_identities(items)
    assert split.gallery == [("a1", "A"), ("b1", "B")]
    assert split.probes == [("a2", "A"), ("a3", "A"), ("b2", "B")]
    assert split.distractors == [("c1", "C"), ("d1", "D")]

    # 2-d unit vectors by angle: gallery A at 0 deg, B at 90 deg
    def unit(degrees: list[float]) -> np.ndarray:
        r = np.radians(degrees)
        return np.stack([np.cos(r), np.sin(r)], axis=1)

    gallery = unit([0, 90])
    probes = unit([10, 60, 80])  # A near A (rank 1), A nearer B (rank 2), B near B (rank 1)
    distractors = unit([45, 200])  # one scores cos 45 deg = 0.707 against both, one far from all
    metrics = identification.identification_metrics(gallery, ["A", "B"], probes, ["A", "A", "B"], distractors,
                                                     fpirs=(0.5, 0.1))
    assert metrics["rank1"] == pytest.approx(2 / 3)
    assert metrics["cmc"] == pytest.approx([2 / 3, 1.0])
    # FPIR 0.5 of 2 non-mated searches allows one: threshold just above the lower top score (cos 110 deg < 0),
    # so both rank-1 hits (cos 10 deg, cos 10 deg) pass and the rank-2 probe is a miss: FNIR 1/3
    row = metrics["fnir_at_fpir"][0]
    assert row["fpir"] == 0.5 and row["fnir"] == pytest.approx(1 / 3) and row["fpir_measured"] == pytest.approx(0.5)
    assert len(metrics["fnir_at_fpir"]) == 1  # 0.1 of 2 searches allows no false positive: not expressible


def test_identification_ties_count_against_the_probe():
    scores = np.array([[0.5, 0.5, 0.2]])
    assert identification.mate_ranks(scores, ["A", "B", "C"], ["A"]).tolist() == [2]


def test_detection_ap_recall_by_size_and_false_positives():
    truth = [np.array([[0, 0, 100, 100], [200, 200, 230, 230], [300, 300, 305, 305]], np.float32),
             np.zeros((0, 4), np.float32)]
    detections = [
        (np.array([[2, 2, 100, 100], [0, 0, 100, 100], [300, 300, 305, 305], [500, 500, 540, 540]], np.float32),
         np.array([0.9, 0.8, 0.7, 0.6], np.float32)),  # hit, duplicate (FP), on the ignored 5-px box, FP
        (np.array([[10, 10, 50, 50]], np.float32), np.array([0.95], np.float32)),  # FP on an image without faces
    ]
    m = detection.detection_metrics(detections, truth, threshold=0.5, min_face=10)
    assert m["faces"] == 2 and m["faces_ignored"] == 1
    assert m["recall"] == pytest.approx(0.5) and m["fp_per_image"] == pytest.approx(1.5)
    # score order: 0.95 FP, 0.9 TP, 0.8 FP, (0.7 ignored), 0.6 FP -> precision envelope at recall 0.5 is 1/2
    assert m["ap"] == pytest.approx(0.25)
    bands = {row["min_side"]: row for row in m["recall_by_size"]}
    assert bands[80]["faces"] == 1 and bands[80]["recall"] == 1.0
    assert bands[20]["faces"] == 1 and bands[20]["recall"] == 0.0
    assert bands[10]["recall"] is None


def test_detection_ground_truth_from_csv_and_voc(tmp_path: Path):
    table = tmp_path / "boxes.csv"
    table.write_text("image,xmin,ymin,xmax,ymax\na.jpg,1,2,30,40\na.jpg,5,5,20,20\nempty.jpg,,,,\n")
    truths = detection.load_boxes(table)
    assert [t.image for t in truths] == ["a.jpg", "empty.jpg"] and truths[0].boxes.shape == (2, 4)
    assert truths[1].boxes.shape == (0, 4)
    voc = tmp_path / "voc"
    voc.mkdir()
    (voc / "b.xml").write_text("<annotation><filename>b.png</filename><object><name>face</name><bndbox><xmin>1</xmin>"
                               "<ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>")
    [truth] = detection.load_boxes(voc)
    assert truth.image == "b.png" and truth.boxes.tolist() == [[1, 2, 3, 4]]
    table.write_text("image,xmin,ymin,xmax,ymax\na.jpg,30,2,1,40\n")
    with pytest.raises(ValueError, match="inverted"):
        detection.load_boxes(table)


def test_fairness_rates_per_group_ratios_and_an_empty_group():
    # group 0 (f): 2 genuine (0.9, 0.4), 2 impostor (0.2, 0.6); group 1 (m): 2 genuine (0.8, 0.7), 2 impostor
    # (0.1, 0.3); one cross-group impostor (0.95); group 2 (x) has no pairs
    scores = np.array([0.9, 0.4, 0.2, 0.6, 0.8, 0.7, 0.1, 0.3, 0.95])
    same = np.array([1, 1, 0, 0, 1, 1, 0, 0, 0], bool)
    codes = np.array([0, 0, 0, 0, 1, 1, 1, 1, fairness.CROSS_CODE])
    m = fairness.fairness_metrics(scores, same, codes, ["f", "m", "x"], [{"fmr": 0.01, "threshold": 0.5}])
    rows = {row["group"]: row for row in m["groups"]}
    assert rows["f"]["at_threshold"][0]["fmr"] == 0.5 and rows["f"]["at_threshold"][0]["fnmr"] == 0.5
    assert rows["m"]["at_threshold"][0]["fmr"] == 0.0 and rows["m"]["at_threshold"][0]["fnmr"] == 0.0
    assert rows["x"]["genuine_pairs"] == 0 and rows["x"]["at_threshold"][0]["fmr"] is None
    assert rows[fairness.CROSS]["impostor_pairs"] == 1
    ratio = m["ratios"][0]
    assert ratio["fmr_max_min_ratio"] is None and ratio["fmr_max"] == 0.5  # the smallest rate is zero
    codes[4:8] = 0  # everything in one group: ratio of a single group is 1
    single = fairness.fairness_metrics(scores, same, codes, ["f"], [{"fmr": 0.01, "threshold": 0.5}])
    assert single["ratios"][0]["fnmr_max_min_ratio"] == pytest.approx(1.0)


def test_fairness_pair_groups_and_labels_spread_to_identities():
    a, b = np.array([0, 0, 1, fairness.UNKNOWN_CODE]), np.array([0, 1, 1, 0])
    assert fairness.pair_groups(a, b).tolist() == [0, fairness.CROSS_CODE, 1, fairness.UNKNOWN_CODE]
    labels, conflicts = fairness.groups_by_identity({"p/1.jpg": "f", "p/2.jpg": "f", "p/3.jpg": "m", "q/1.jpg": "m"},
                                                    {"p/1.jpg": "p", "p/2.jpg": "p", "p/3.jpg": "p",
                                                     "q/1.jpg": "q", "q/2.jpg": "q"})
    assert labels == {"p": "f", "q": "m"} and conflicts == 1


def test_attribute_errors_by_group():
    result = fairness.attribute_errors_by_group(np.array(["f", "m", "m", "f"]), np.array(["f", "f", "m", "f"]),
                                                np.array(["a", "a", "b", "b"]))
    rows = {r["group"]: r for r in result["groups"]}
    assert rows["a"]["accuracy"] == 0.5 and rows["b"]["accuracy"] == 1.0 and result["worst_best_error_ratio"] is None
    ages = fairness.attribute_errors_by_group(np.array([20, 30, 50]), np.array([25, 30, 40]), np.array(["x", "x", "y"]),
                                              kind="mae")
    assert {r["group"]: r["mae"] for r in ages["groups"]} == {"x": 2.5, "y": 10.0}
    assert ages["worst_best_error_ratio"] == 4.0
