"""`faceatlas.eval` on the development data (skipped when ../shared/data is absent): LFW View 1 DevTest
verification checked against an independent computation, 1:N on the same images, fairness by gender, quality, and
facemask detection. The default profile's DevTest embeddings come from the run's one cache (`evaluation_cache`):
DevTest is embedded once (the end-to-end accuracy checks live here, beside the independent computation)."""

import csv
from pathlib import Path

import numpy as np
import pytest
from helpers import data_path
from sklearn.metrics import accuracy_score, roc_curve

from faceatlas import FaceAnalyzer
from faceatlas.eval import harness
from faceatlas.eval.pairs import read_pairs
from faceatlas.pipeline import calibrated_threshold

pytestmark = [pytest.mark.data, pytest.mark.slow]


@pytest.fixture(scope="module")
def cache(evaluation_cache: Path) -> Path:
    return evaluation_cache


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="module")
def devtest_verify(analyzer: FaceAnalyzer, cache: Path) -> dict:
    lfw = data_path("lfw_view1")
    return harness.run_verify(analyzer, lfw / "pairsDevTest.txt", lfw / "images", folds=10, cache=cache)


def independent_kfold_accuracy(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> float:
    """The LFW protocol computed another way: scikit-learn's ROC thresholds on the training folds, the one with the
    best training accuracy (lowest on a tie), applied to the held-out fold."""
    accuracies = []
    for fold in np.unique(folds):
        train, test = folds != fold, folds == fold
        _, _, thresholds = roc_curve(same[train], scores[train], drop_intermediate=False)
        candidates = np.sort(np.concatenate([thresholds[1:], [scores[train].max() + 1e-6]]))
        train_accuracy = [accuracy_score(same[train], scores[train] >= t) for t in candidates]
        best = candidates[int(np.argmax(train_accuracy))]
        accuracies.append(accuracy_score(same[test], scores[test] >= best))
    return float(np.mean(accuracies))


def test_lfw_devtest_accuracy_matches_an_independent_computation(devtest_verify: dict):
    m = devtest_verify["metrics"]
    pairs = read_pairs(data_path("lfw_view1", "pairsDevTest.txt"), 10)
    scores = np.array(m["pair_scores"])
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    assert m["pairs"] == 1000 and m["pairs_with_missing_face"] == 0
    assert devtest_verify["data"]["images_without_face"] == 0
    assert m["accuracy_kfold"]["mean"] >= 0.993  # raw images, default profile, the face nearest the centre
    assert abs(independent_kfold_accuracy(scores, same, folds) - m["accuracy_kfold"]["mean"]) <= 0.001
    threshold = calibrated_threshold(FaceAnalyzer().recogniser_card, 1e-2)
    assert float(np.mean((scores >= threshold) == same)) >= 0.985  # deciding at the card's FMR 1e-2 threshold
    assert m["eer"]["eer"] < 0.02
    # SFace's calibrated threshold at FMR 1e-2 keeps DevTest's measured FMR near 1 %
    at_1e2 = next(r for r in m["at_calibrated_thresholds"] if r["fmr_target"] == 0.01)
    assert at_1e2["fmr"] <= 0.03


def test_lfw_identification_on_devtest_images(analyzer: FaceAnalyzer, cache: Path, tmp_path: Path):
    images = data_path("lfw_view1", "images")
    pairs = read_pairs(data_path("lfw_view1", "pairsDevTest.txt"), 10)
    names = sorted({n for p in pairs for n in (p.a, p.b)})
    listing = tmp_path / "devtest.csv"
    listing.write_text("path,identity\n" + "".join(f"{images / n},{n.split('/')[0]}\n" for n in names))
    split = harness.identification_split(None, None, None, listing)
    m = harness.run_identify(analyzer, split, cache=cache)["metrics"]
    assert m["mated_probes"] > 400 and m["nonmated_probes"] > 300
    assert m["rank1"] >= 0.97
    assert [r["fpir"] for r in m["fnir_at_fpir"]] == [0.1, 0.01]  # ~600 non-mated searches cannot express 1e-3
    assert m["fnir_at_fpir"][0]["fnir"] < 0.1


def test_fairness_by_gender_on_devtest_images(analyzer: FaceAnalyzer, cache: Path, tmp_path: Path):
    images = data_path("lfw_view1", "images")
    labels = data_path("lfw_mtfl_labels", "labels.csv")
    pairs = read_pairs(data_path("lfw_view1", "pairsDevTest.txt"), 10)
    names = sorted({n for p in pairs for n in (p.a, p.b)})
    listing = tmp_path / "devtest.csv"
    listing.write_text("path,identity\n" + "".join(f"{images / n},{n.split('/')[0]}\n" for n in names))
    result = harness.run_fairness(analyzer, listing, labels, group_column="gender", cache=cache)
    m = result["metrics"]
    groups = {g["group"]: g for g in m["groups"]}
    assert {"female", "male"} <= set(groups)
    with open(labels, newline="") as handle:
        gender = {row["lfw_image"].split("/")[0]: row["gender"] for row in csv.DictReader(handle)}
    women = sum(gender.get(n.split("/")[0]) == "female" for n in names)
    assert m["images_per_group"]["female"] == women  # every DevTest image of a labelled person is counted
    assert groups["female"]["genuine_pairs"] > 0 and groups["male"]["impostor_pairs"] > 10_000
    assert len(m["ratios"]) == 4 and all(r["fnmr_max"] is not None for r in m["ratios"])


def test_facemask_detection_ap_and_small_face_recall():
    folder = data_path("facemask")
    m = harness.run_detect(FaceAnalyzer(profile="fast", threads=1), folder / "boxes.csv", folder)["metrics"]
    assert m["images"] == 150 and m["ap"] == pytest.approx(0.757, abs=0.01) and m["recall"] >= 0.73
    bands = [r for r in m["recall_by_size"] if r["faces"]]
    assert bands[0]["recall"] < bands[-1]["recall"]  # small faces are the hard ones


def test_utkface_gender_accuracy_and_age_error_by_band():
    from faceatlas.eval.attributes import load_attribute_labels

    labels = load_attribute_labels(data_path("utkface", "labels.csv"), "0=male,1=female", "race",
                                   "0=White,1=Black,2=Asian,3=Indian,4=Others")
    m = harness.run_attributes(FaceAnalyzer(heads=["age_gender"]), labels)["metrics"]
    assert m["faces_found"] == 1000
    assert m["gender"]["accuracy"] >= 0.90
    assert m["age"]["mae"] < 7.0
    bands = {b["from"]: b for b in m["age"]["by_band"]}
    assert bands[70]["mae"] > 2 * bands[20]["mae"]  # the old are where this model is weakest; the numbers show it
    assert bands[70]["mean_age_std"] > bands[20]["mean_age_std"]  # and its own uncertainty says so
    assert 0.78 <= m["age"]["interval_coverage"] <= 0.83  # age_low..age_high: fitted for 80 % on these very faces
    assert m["gender"]["calibration"]["ece"] < 0.05 and len(m["gender"]["calibration"]["reliability"]) >= 5
    assert {g["group"] for g in m["gender"]["by_group"]["groups"]} == {"White", "Black", "Asian", "Indian", "Others"}


def test_fer2013_expression_accuracy_end_to_end():
    from faceatlas.eval.attributes import load_attribute_labels

    labels = load_attribute_labels(data_path("fer2013_public"))
    m = harness.run_attributes(FaceAnalyzer(heads=["expression"]), labels)["metrics"]
    assert m["images"] == 3589 and m["coverage"] >= 0.98  # a 48x48 crop with a face is one face filling it
    assert m["expression"]["accuracy"] >= 0.67  # ten views of each face
    assert m["network_alone"]["expression_accuracy"] <= m["expression"]["accuracy"] - 0.015  # same faces, one view
    assert np.array(m["expression"]["confusion"]).sum() == m["faces_found"]


def test_fer2013_model_accuracy_on_the_data_sets_own_crops():
    """The converted network itself (no detection): FER2013's 48x48 crops resized to 64x64, as it was trained."""
    import cv2

    from faceatlas.attributes.expression import ExpressionHead

    head = ExpressionHead()
    root = data_path("fer2013_public")
    paths = sorted(p for p in root.glob("*/*") if p.suffix == ".jpg")
    crops = np.stack([cv2.resize(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), (64, 64)) for p in paths])
    predicted = head.labels[head.probabilities_of_crops(crops).argmax(axis=1)]
    accuracy = float(np.mean(predicted == np.array([p.parent.name for p in paths])))
    assert len(paths) == 3589 and accuracy == pytest.approx(0.652, abs=0.005)


def test_quality_error_versus_reject_beats_face_size_and_random_on_unseen_devtest(analyzer: FaceAnalyzer,
                                                                                 cache: Path):
    from faceatlas.eval.embedding import embed_centre_faces
    from faceatlas.eval.quality import error_versus_reject
    from faceatlas.pipeline import calibrated_threshold

    lfw = data_path("lfw_view1")
    names = sorted({n for p in read_pairs(lfw / "pairsDevTest.txt") for n in (p.a, p.b)})
    embedded = embed_centre_faces(analyzer, [lfw / "images" / n for n in names], cache_dir=cache)
    found = embedded.found
    labels = [n.split("/")[0] for n, ok in zip(names, found, strict=True) if ok]
    e, boxes = embedded.embeddings[found], embedded.boxes[found]
    threshold = calibrated_threshold(analyzer.recogniser_card, 1e-3)
    by_quality = error_versus_reject(e, labels, embedded.quality[found], threshold, (0.0, 0.1, 0.2))
    size = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    by_size = error_versus_reject(e, labels, size, threshold, (0.0, 0.1, 0.2))
    at_random = error_versus_reject(e, labels, np.random.default_rng(0).random(len(labels)), threshold,
                                    (0.0, 0.1, 0.2))
    for i in (1, 2):
        assert by_quality[i]["fnmr"] < by_size[i]["fnmr"] and by_quality[i]["fnmr"] < at_random[i]["fnmr"]
    assert by_quality[2]["fnmr"] < 0.5 * by_quality[0]["fnmr"]


def test_the_gate_refuses_most_degraded_copies_and_hardly_any_unseen_photo():
    """On 100 DevTest photos (unseen in fitting) and a degraded copy of each kind: the default gate (a predicted
    match probability of 0.5) keeps the photos, refuses most copies, and its score ranks pictures by how often
    they match better than face size does."""
    from faceatlas.config import get_settings
    from faceatlas.eval.degrade import DEGRADATIONS, with_degraded_copies
    from faceatlas.eval.quality import collect, match_outcomes
    from faceatlas.pipeline import calibrated_threshold
    from faceatlas.quality.features import FEATURES
    from faceatlas.quality.head import quality_scores

    lfw = data_path("lfw_view1")
    names = sorted({n for p in read_pairs(lfw / "pairsDevTest.txt") for n in (p.a, p.b)})
    people = sorted({n.split("/")[0] for n in names})
    chosen = [n for n in names if n.split("/")[0] in people[::6]][:100]  # several photos per person, 100 photos
    made = with_degraded_copies([lfw / "images" / n for n in chosen], every_kind=True)
    analyzer = FaceAnalyzer()
    samples = collect(analyzer, made.images)
    quality = quality_scores(samples.features, samples.norms, analyzer.recogniser_card.id)
    kinds = np.asarray(made.kinds)
    clean, degraded = samples.found & (kinds == "clean"), samples.found & (kinds != "clean")
    gate = get_settings().min_quality
    assert np.mean(quality[clean] < gate) <= 0.03 and np.mean(quality[degraded] < gate) >= 0.6
    copies = kinds != "clean"  # enrolment refuses a copy without a face found too
    assert copies.sum() == len(DEGRADATIONS) * 100 and np.mean(~samples.found[copies] | (quality[copies] < gate)) > 0.7
    rows, matched = match_outcomes(samples.embeddings, [Path(p).parent.name for p in made.photos], made.photos,
                                   clean, calibrated_threshold(analyzer.recogniser_card, 1e-3))
    rows, matched = rows[samples.found[rows]], matched[samples.found[rows]]
    size = samples.features[:, FEATURES.index("log_eye_distance")]
    by_quality, by_size = roc_auc(quality[rows], matched), roc_auc(size[rows], matched)
    assert by_quality > 0.85 and by_quality > by_size + 0.2


def roc_auc(score: np.ndarray, positive: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive, score))


def test_mtfl_landmark_refinement_lowers_the_five_point_error():
    from faceatlas.eval.landmarks import load_landmarks

    truth = load_landmarks(data_path("mtfl_test", "testing.txt"))
    refined = harness.run_landmarks(FaceAnalyzer(), truth)["metrics"]
    single = harness.run_landmarks(FaceAnalyzer(profile="fast"), truth)["metrics"]
    assert refined["coverage"] >= 0.99 and single["coverage"] >= 0.99
    assert refined["nme"] < 0.9 * single["nme"]
    assert refined["by_pose_bin"]["3"]["nme"] < refined["by_pose_bin"]["1"]["nme"]  # frontal beats profile


def test_gender_accuracy_on_lfw_mtfl_labels():
    from faceatlas.eval.attributes import load_attribute_labels

    labels = load_attribute_labels(data_path("lfw_mtfl_labels", "labels.csv"), images=data_path("lfw_view1", "images"))
    result = harness.run_attributes(FaceAnalyzer(heads=["age_gender"]), labels)
    assert result["metrics"]["faces_found"] > 1900 and result["data"]["images_without_face"] == 0
    assert result["metrics"]["gender"]["accuracy"] >= 0.96


def test_mesh_landmarks_beat_the_detector_on_mtfl_and_map_to_68_points():
    from faceatlas.eval.landmarks import load_landmarks

    truth = load_landmarks(data_path("mtfl_test", "testing.txt"))
    analyzer = FaceAnalyzer()
    detector = harness.run_landmarks(analyzer, truth)["metrics"]
    mesh = harness.run_landmarks(analyzer, truth, source="mesh")["metrics"]
    assert mesh["coverage"] >= 0.99 and mesh["nme"] < 0.92 * detector["nme"]
    ibug = load_landmarks(data_path("dlib_faces", "faces", "testing_with_face_landmarks.xml"))
    result = harness.run_landmarks(analyzer, ibug, source="mesh")
    assert result["metrics"]["faces"] == 25 and result["metrics"]["nme"] < 0.07
    assert {m["id"] for m in result["models"]} >= {"facemesh-v1", "iris-v1"}


def test_head_pose_orders_mtfl_bins_is_mirror_symmetric_and_agrees_with_fsanet():
    from faceatlas.eval.landmarks import load_landmarks
    from faceatlas.eval.pose_reference import FsaNetReference

    truth = load_landmarks(data_path("mtfl_test", "testing.txt"))
    fsanet = data_path("models", "fsanet_headpose")
    reference = FsaNetReference([fsanet / "fsanet-1x1-iter-688590.onnx", fsanet / "fsanet-var-iter-688590.onnx"])
    m = harness.run_pose(FaceAnalyzer(), truth, reference=reference)["metrics"]
    assert m["faces"] >= 495
    assert m["bins"]["accuracy"] >= 0.78 and m["bins"]["within_one_bin"] >= 0.99
    assert m["bins"]["spearman_yaw_vs_bin"] < -0.84
    assert m["mirror"]["yaw_mae"] < 2.5 and m["mirror"]["roll_mae"] < 1.5
    assert m["reference"]["yaw_correlation"] > 0.94 and m["reference"]["yaw_mad"] < 4.5
