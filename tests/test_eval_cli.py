"""`faceatlas eval ...` as a user runs it (real models; the app in this process, `helpers.cli`) on a tiny identity set
built from the photos scikit-image ships: the astronaut and the cameraman, each with variants, plus a photo without a
face."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import ASTRONAUT, cli
from skimage import data

from faceatlas.eval.results import SCHEMA_VERSION, read_result

run = cli


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("people")
    astronaut = cv2.imread(str(ASTRONAUT))
    cameraman = cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)
    images = {
        "astronaut/a1.png": astronaut, "astronaut/a2.png": astronaut[:, ::-1],
        "astronaut/a3.png": cv2.resize(astronaut, None, fx=0.7, fy=0.7),
        "cameraman/c1.png": cameraman, "cameraman/c2.png": cameraman[:, ::-1],
        "nobody/n1.png": np.full((300, 300, 3), 128, np.uint8),
    }
    for name, pixels in images.items():
        (root / name).parent.mkdir(exist_ok=True)
        cv2.imwrite(str(root / name), pixels)
    (root / "pairs.csv").write_text(
        "a,b,same\n"
        "astronaut/a1.png,astronaut/a2.png,1\nastronaut/a1.png,astronaut/a3.png,1\n"
        "cameraman/c1.png,cameraman/c2.png,1\nastronaut/a2.png,astronaut/a3.png,1\n"
        "astronaut/a1.png,cameraman/c1.png,0\nastronaut/a3.png,cameraman/c2.png,0\n"
        "astronaut/a2.png,nobody/n1.png,0\ncameraman/c2.png,astronaut/a2.png,0\n")
    return root


def test_eval_verify_writes_a_versioned_result_and_plots(people: Path, tmp_path: Path):
    out, plots = tmp_path / "verify.json", tmp_path / "plots"
    result = run("eval", "verify", "--pairs", str(people / "pairs.csv"), "--images", str(people), "--folds", "2",
                 "--profile", "fast", "-o", str(out), "--plot", str(plots))
    assert result.returncode == 0, result.stderr
    verify = read_result(out)
    assert verify["schema_version"] == SCHEMA_VERSION and verify["kind"] == "verify"
    assert verify["pipeline"]["profile"] == "fast" and verify["data"]["images_without_face"] == 1
    m = verify["metrics"]
    assert m["pairs"] == 8 and m["pairs_with_missing_face"] == 1 and len(m["pair_scores"]) == 8
    assert m["accuracy_kfold"]["mean"] == 1.0  # these genuine pairs score far above these impostors
    assert m["pair_scores"][6] == -1.0  # the pair with the face-less photo is a rejection
    assert {p.name for p in plots.glob("*.png")} == {"verify-roc.png", "verify-det.png", "verify-histogram.png"}
    assert "1 of 6 images without a face" in result.stderr and "1.0000" in result.stdout


def test_eval_identify_generates_the_split_and_reports_rank1(people: Path, tmp_path: Path):
    out = tmp_path / "identify.json"
    result = run("eval", "identify", "--identities", str(people), "--profile", "fast", "-o", str(out))
    assert result.returncode == 0, result.stderr
    m = read_result(out)["metrics"]
    assert m["gallery_identities"] == 2 and m["mated_probes"] == 3 and m["nonmated_probes"] == 1
    assert m["rank1"] == 1.0


def test_eval_detect_and_report(people: Path, tmp_path: Path):
    boxes = tmp_path / "boxes.csv"
    # the astronaut's face measured by hand on the photo; a missing file must be reported, not fatal
    boxes.write_text("image,xmin,ymin,xmax,ymax\nastronaut/a1.png,175,55,265,175\nmissing.png,1,1,20,20\n"
                     "nobody/n1.png,,,,\n")
    out = tmp_path / "detect.json"
    result = run("eval", "detect", "--boxes", str(boxes), "--images", str(people), "--profile", "fast",
                 "-o", str(out))
    assert result.returncode == 0, result.stderr
    detect = read_result(out)
    assert detect["metrics"]["recall"] == 1.0 and detect["metrics"]["fp_per_image"] == 0.0
    assert list(detect["data"]["unreadable"]) == ["missing.png"]
    verify = tmp_path / "verify.json"
    run("eval", "verify", "--pairs", str(people / "pairs.csv"), "--images", str(people), "--folds", "2",
        "--profile", "fast", "-o", str(verify))
    page = tmp_path / "report.html"
    benchmark = tmp_path / "benchmark.json"  # a benchmark's output beside the results, as in docs/results/
    benchmark.write_text(json.dumps({"benchmark": "throughput"}))
    result = run("eval", "report", str(verify), str(benchmark), str(out), "-o", str(page))
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stderr and "benchmark.json: not a faceatlas eval result" in result.stderr
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 4  # ROC, DET, histogram, recall by size
    assert "sface-2021dec-int8bq" in text and "Apache-2.0" in text and "Limitations" in text


def test_eval_errors_are_clear(people: Path, tmp_path: Path):
    result = run("eval", "verify", "--pairs", str(tmp_path / "nope.txt"), "--images", str(people))
    assert result.returncode == 2 and "nope.txt" in result.stderr and "Traceback" not in result.stderr
    bogus = tmp_path / "bogus.json"
    bogus.write_text(json.dumps({"hello": 1}))
    result = run("eval", "report", str(bogus), "-o", str(tmp_path / "r.html"))
    assert result.returncode == 2 and "not a faceatlas eval result" in result.stderr
    result = run("eval", "identify", "--gallery", str(people))
    assert result.returncode == 2 and "--probes" in result.stderr


def test_eval_budget_picks_the_most_accurate_profile_that_fits(people: Path, tmp_path: Path):
    from faceatlas.eval.results import envelope, write_result

    accuracy_files = []
    for profile, accuracy in (("fast", 0.99), ("retinaface", 0.995)):
        result = envelope("verify", "test", {}, {"accuracy_kfold": {"mean": accuracy}})
        result["pipeline"] = {"profile": profile}
        write_result(result, tmp_path / f"{profile}.json")
        accuracy_files += ["--verify", str(tmp_path / f"{profile}.json")]
    out = tmp_path / "budget.json"
    result = run("eval", "budget", "--images", str(people), "--budget-ms", "0.001", "100000",
                 "--profile", "fast", "--profile", "retinaface", "--threads", "1", *accuracy_files, "-o", str(out))
    assert result.returncode == 0, result.stderr
    m = read_result(out)["metrics"]
    assert [(r["profile"], r["threads"]) for r in m["latency"]] == [("fast", 1), ("retinaface", 1)]
    assert all(r["images"] == 6 and 0 < r["p50_ms"] <= r["p95_ms"] for r in m["latency"])
    assert [c["profile"] for c in m["choices"]] == [None, "retinaface"]
    assert "none fits" in result.stdout
    result = run("eval", "budget", "--images", str(people), "--budget-ms", "100", "fast")
    assert result.returncode == 2 and "budgets are numbers" in result.stderr


def test_eval_attributes_on_a_gender_csv_and_expression_folders(people: Path, tmp_path: Path):
    labels = tmp_path / "labels.csv"
    labels.write_text(f"path,gender,age\n{people}/astronaut/a1.png,1,38\n{people}/cameraman/c1.png,0,\n"
                      f"{people}/nobody/n1.png,1,30\n")
    out = tmp_path / "attributes.json"
    result = run("eval", "attributes", "--labels", str(labels), "--gender-codes", "0=male,1=female",
                 "--head", "age_gender", "-o", str(out))
    assert result.returncode == 0, result.stderr
    attributes = read_result(out)
    m = attributes["metrics"]
    assert m["images"] == 3 and m["faces_found"] == 2 and attributes["data"]["images_without_face"] == 1
    assert m["gender"]["accuracy"] == 1.0 and m["gender"]["confusion"] == [[1, 0], [0, 1]]
    assert m["age"]["faces"] == 1 and "expression" not in m
    page = tmp_path / "attributes.html"
    assert run("eval", "report", str(out), "-o", str(page)).returncode == 0
    assert "Attributes: age, gender, expression" in page.read_text()
    folders = tmp_path / "expressions"
    (folders / "happy").mkdir(parents=True)
    (folders / "happy" / "astronaut.png").write_bytes((people / "astronaut" / "a1.png").read_bytes())
    result = run("eval", "attributes", "--labels", str(folders), "--head", "expression", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert read_result(out)["metrics"]["expression"]["accuracy"] == 1.0


def test_eval_pose_and_mesh_landmarks_on_mtfl_style_annotations(people: Path, tmp_path: Path):
    from faceatlas import FaceAnalyzer

    lines = []
    for name in ("astronaut/a1.png", "astronaut/a2.png"):
        points = FaceAnalyzer(profile="fast").detect(cv2.imread(str(people / name))).landmarks5[0]
        lines.append(" ".join([name, *(f"{v:.2f}" for v in points[:, 0]), *(f"{v:.2f}" for v in points[:, 1]),
                               "2", "1", "2", "3"]))
    annotations = tmp_path / "testing.txt"
    annotations.write_text("\n".join(lines) + "\n")
    out = tmp_path / "pose.json"
    result = run("eval", "pose", "--points", str(annotations), "--images", str(people), "-o", str(out))
    assert result.returncode == 0, result.stderr
    pose = read_result(out)
    assert pose["kind"] == "pose" and pose["metrics"]["faces"] == 2 and pose["metrics"]["bins"]["faces"] == 2
    assert pose["metrics"]["mirror"]["yaw_mae"] < 3 and "mirror symmetry" in result.stdout
    missing = run("eval", "pose", "--points", str(annotations), "--images", str(people),
                  "--reference", str(tmp_path / "nope.onnx"))
    assert missing.returncode == 2 and "nope.onnx" in missing.stderr and "Traceback" not in missing.stderr
    result = run("eval", "landmarks", "--points", str(annotations), "--images", str(people), "--source", "mesh",
                 "-o", str(out))
    assert result.returncode == 0, result.stderr
    landmarks = read_result(out)
    assert landmarks["data"]["source"] == "mesh" and landmarks["metrics"]["nme"] < 0.15  # vs YuNet points as truth
