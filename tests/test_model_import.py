"""`faceatlas models import`: files recognised by SHA-256, unknown ones registered only with a completed card, bad
ones refused without stopping the others; restrictive licences run only once accepted, and results say so."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers import ASTRONAUT, cli, data_path
from onnx import TensorProto, helper, numpy_helper

from faceatlas import FaceAnalyzer
from faceatlas.adapters import runs
from faceatlas.errors import LicenceNotAcceptedError
from faceatlas.eval.embedding import embed_centre_faces
from faceatlas.io.records import success_record
from faceatlas.models import get_card
from faceatlas.models.importing import import_path
from faceatlas.models.store import sha256_file

LICENCE = "insightface-non-commercial"


def tiny_recogniser(path: Path, dim: int = 8) -> Path:
    """A real (random-weight) ONNX recogniser: 112x112 RGB in, a `dim`-d vector out."""
    weights = numpy_helper.from_array(np.random.default_rng(0).normal(size=(dim, 3, 7, 7)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], strides=[4, 4]), helper.make_node("GlobalAveragePool", ["c"],
                                                                                       ["p"]),
         helper.make_node("Flatten", ["p"], ["y"])],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 112, 112])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", dim])], [weights])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def completed(draft: Path, **fields: object) -> Path:
    card = json.loads(draft.read_text())
    card.pop("introspected")
    card.update(fields)
    draft.write_text(json.dumps(card))
    return draft


def test_an_unknown_recogniser_is_registered_only_with_the_card_the_user_completes(isolated_home, tmp_path):
    model = tiny_recogniser(tmp_path / "mine.onnx")
    [first] = import_path(model, runs)
    assert first.outcome == "draft" and first.card is None
    draft = Path(first.message.split("draft card ")[1].split(" ")[0])
    introspected = json.loads(draft.read_text())["introspected"]
    assert introspected["inputs"] == [{"name": "x", "shape": ["n", 3, 112, 112]}]
    assert "mine" not in [c.id for c in __import__("faceatlas").models.list_cards()]
    card = completed(draft, task="recognise", architecture="arcface", licence="MIT", embedding_dim=8,
                     input_spec={"color": "RGB", "mean": 127.5, "std": 127.5, "size": [112, 112]})
    [second] = import_path(model, runs, card)
    assert second.outcome == "registered" and get_card("mine").sha256 == sha256_file(model)
    faces = FaceAnalyzer(profile="fast", recogniser="mine").analyze(ASTRONAUT)
    assert faces.embeddings.shape == (1, 8) and faces.embedding_model == "mine" and faces.licences == ()


def test_wrong_sha_truncated_and_non_onnx_files_are_refused_and_the_others_imported(isolated_home, tmp_path):
    model = tiny_recogniser(tmp_path / "good.onnx")
    other = tiny_recogniser(tmp_path / "other.onnx", dim=4)
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"id": "good", "task": "recognise", "architecture": "arcface", "licence": "MIT",
                                "sha256": sha256_file(other), "embedding_dim": 8}))
    [refused] = import_path(model, runs, card)  # the card describes another file
    assert refused.outcome == "refused" and "differs from the card" in refused.message
    assert cli("models", "import", str(model), "--card", str(card)).returncode == 1
    pack = tmp_path / "pack.zip"
    with zipfile.ZipFile(pack, "w") as archive:
        archive.writestr("pack/truncated.onnx", model.read_bytes()[: model.stat().st_size // 2])
        archive.writestr("pack/notes.onnx", b"this is a text file, not a model\n")
        archive.write(model, "pack/good.onnx")
    results = {Path(r.name.split(":")[-1]).name: r for r in import_path(pack, runs)}
    assert results["truncated.onnx"].outcome == "refused" and "not a valid ONNX" in results["truncated.onnx"].message
    assert results["notes.onnx"].outcome == "refused"
    assert results["good.onnx"].outcome == "draft"  # still imported: one bad file never stops the others
    run = cli("models", "import", str(pack))
    assert run.returncode == 1 and run.stderr.count("refused") == 2
    draft = Path(results["good.onnx"].message.split("draft card ")[1].split(" ")[0])
    card = completed(draft, task="recognise", architecture="arcface", licence="MIT", embedding_dim=8)
    [registered] = import_path(pack, runs, card)  # the member the draft pins, out of the pack
    assert registered.outcome == "registered" and registered.card.id == "good"


def test_known_models_of_the_dev_data_are_recognised_by_sha256(isolated_home):
    results = {r.card.id if r.card else r.name: r for r in import_path(data_path("models"), runs)}
    assert results["scrfd-500m-bnkps-640"].outcome == "registered"
    assert results["yunet-2026may"].outcome == "registered"
    assert results["ultraface-rfb-640"].outcome == "no-adapter"  # boxes without the landmarks we align by
    assert results["antispoof-minifasnet-celeba-spoof"].card.accept_licence == "celeba-spoof-non-commercial"
    faces = FaceAnalyzer(profile="fast", detector="yunet-2026may").analyze(ASTRONAUT, embed=False)
    assert len(faces) == 1 and faces.licences == ()  # MIT: runs with no acceptance


def test_a_restrictive_licence_runs_only_once_accepted_and_every_result_says_so(isolated_home):
    import_path(data_path("models", "scrfd"), runs)
    analyzer = FaceAnalyzer(profile="fast", detector="scrfd-500m-bnkps-640")
    with pytest.raises(LicenceNotAcceptedError, match="faceatlas models accept-licence insightface-non-commercial"):
        analyzer.analyze(ASTRONAUT, embed=False)
    accepted = cli("models", "accept-licence", LICENCE)
    assert accepted.returncode == 0 and "non-commercial research purposes only" in " ".join(accepted.stderr.split())
    record_file = isolated_home / "licences.json"
    assert stat.S_IMODE(os.stat(record_file).st_mode) == 0o600
    assert json.loads(record_file.read_text())[LICENCE]["by"]
    faces = analyzer.analyze(ASTRONAUT)
    assert len(faces) == 1 and faces.licences == (LICENCE,)
    assert success_record("astronaut.png", faces, 1.0)["licences"] == [LICENCE]
    assert "needs acceptance" not in cli("models", "list").stdout
    cache = isolated_home / "evaluation-cache"
    embed_centre_faces(FaceAnalyzer(profile="fast", detector="scrfd-500m-bnkps-640"), [ASTRONAUT], cache_dir=cache)
    assert cli("models", "withdraw-licence", LICENCE).returncode == 0
    with pytest.raises(LicenceNotAcceptedError):
        FaceAnalyzer(profile="fast", detector="scrfd-500m-bnkps-640").analyze(ASTRONAUT, embed=False)
    with pytest.raises(LicenceNotAcceptedError):  # its cached results are refused too, though no model would run
        embed_centre_faces(FaceAnalyzer(profile="fast", detector="scrfd-500m-bnkps-640"), [ASTRONAUT],
                           cache_dir=cache)


def test_the_setting_accepts_a_licence_for_a_service(isolated_home, monkeypatch):
    import_path(data_path("models", "scrfd"), runs)
    monkeypatch.setenv("FACEATLAS_ACCEPT_LICENCES", json.dumps([LICENCE]))
    from faceatlas.config import get_settings

    get_settings.cache_clear()
    faces = FaceAnalyzer(profile="fast", detector="scrfd-500m-bnkps-640").analyze(ASTRONAUT, embed=False)
    assert faces.licences == (LICENCE,)
    assert not (isolated_home / "licences.json").exists()  # nothing recorded: the setting is the record


def test_a_users_card_cannot_lift_the_licence_of_a_file_faceatlas_knows(isolated_home, tmp_path):
    scrfd = data_path("models", "scrfd", "scrfd_500m_bnkps.onnx")  # known: InsightFace's non-commercial weights
    card = tmp_path / "mine.json"
    card.write_text(json.dumps({"id": "my-detector", "task": "detect", "architecture": "scrfd", "licence": "MIT",
                                "input_spec": {"size": [640, 640]}}))
    [registered] = import_path(scrfd, runs, card)
    assert registered.outcome == "registered" and get_card("my-detector").accept_licence == LICENCE
    card.write_text(json.dumps({"id": "my-other", "task": "detect", "architecture": "scrfd", "licence": "MIT",
                                "source": {"path": str(scrfd)}, "input_spec": {"size": [640, 640]}}))
    assert cli("models", "register", str(card)).returncode == 0  # registered, gated all the same
    for model in ("my-detector", "my-other"):
        with pytest.raises(LicenceNotAcceptedError):
            FaceAnalyzer(profile="fast", detector=model).analyze(ASTRONAUT, embed=False)


def test_an_import_never_replaces_a_bundled_models_file(isolated_home, tmp_path):
    yunet = FaceAnalyzer(profile="fast").detector_card
    before = FaceAnalyzer(profile="fast").analyze(ASTRONAUT, embed=False)
    model = tiny_recogniser(tmp_path / "impostor.onnx")
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"id": yunet.id, "task": "recognise", "architecture": "arcface", "licence": "MIT",
                                "embedding_dim": 8}))
    [refused] = import_path(model, runs, card)
    assert refused.outcome == "refused" and "bundled model id" in refused.message
    assert not (isolated_home / "models" / f"{yunet.id}.onnx").exists() or sha256_file(
        isolated_home / "models" / f"{yunet.id}.onnx") == yunet.sha256
    assert len(FaceAnalyzer(profile="fast").analyze(ASTRONAUT, embed=False)) == len(before)


def test_a_damaged_zip_member_or_a_missing_card_is_a_clear_refusal(isolated_home, tmp_path):
    model = tiny_recogniser(tmp_path / "good.onnx")
    pack = tmp_path / "pack.zip"
    with zipfile.ZipFile(pack, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("damaged.onnx", model.read_bytes())
        archive.write(model, "good.onnx")
    raw = bytearray(pack.read_bytes())
    first = raw.index(b"damaged.onnx") + len(b"damaged.onnx") + 10  # inside the first member's compressed bytes
    raw[first : first + 8] = b"\x00" * 8
    pack.write_bytes(bytes(raw))
    outcomes = {Path(r.name.split(":")[-1]).name: r.outcome for r in import_path(pack, runs)}
    assert outcomes == {"damaged.onnx": "refused", "good.onnx": "draft"}
    missing = cli("models", "import", str(model), "--card", str(tmp_path / "nowhere.json"))
    assert missing.returncode == 2 and "nowhere.json" in " ".join(missing.stderr.split())
