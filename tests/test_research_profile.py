"""The research profile (InsightFace's w600k MobileFaceNet, non-commercial): refused until its licence is accepted,
then calibrated decisions like the default profile's, each result naming the licence — in Python, on the command
line and over HTTP."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import onnx
import pytest
from helpers import cli, data_path
from serving import make_key, running_server, upload

from faceatlas import FaceAnalyzer
from faceatlas.errors import LicenceNotAcceptedError
from faceatlas.models import get_card
from faceatlas.models.store import is_installed, resolve

LICENCE = "insightface-non-commercial"
ACCEPTED = {"FACEATLAS_ACCEPT_LICENCES": json.dumps([LICENCE])}

pytestmark = pytest.mark.skipif(
    not all(is_installed(get_card(m)) for m in ("arcface-w600k-mbf", "scrfd-500m-bnkps", "insightface-2d106det")),
    reason="the research pack is not installed: FACEATLAS_ACCEPT_LICENCES='[\"insightface-non-commercial\"]' "
           "faceatlas models fetch arcface-w600k-mbf scrfd-500m-bnkps insightface-2d106det")


def lfw(name: str, number: int) -> Path:
    return data_path("lfw_view1", "images", name, f"{name}_{number:04d}.jpg")


def test_refused_without_acceptance(isolated_home):
    with pytest.raises(LicenceNotAcceptedError):
        FaceAnalyzer(profile="research-scrfd").analyze(lfw("Aaron_Peirsol", 1))
    refused = cli("verify", str(lfw("Aaron_Peirsol", 1)), str(lfw("Aaron_Peirsol", 2)), "--profile",
                  "research-scrfd")
    assert refused.returncode == 14 and "accept-licence insightface-non-commercial" in " ".join(refused.stderr.split())


def test_calibrated_decisions_that_name_the_licence():
    same = cli("verify", str(lfw("Aaron_Peirsol", 1)), str(lfw("Aaron_Peirsol", 2)), "--profile", "research",
               "--fmr", "1e-4", "--json", env=ACCEPTED)
    other = cli("verify", str(lfw("Aaron_Peirsol", 1)), str(lfw("Abdullah_Gul", 13)), "--profile", "research",
                "--fmr", "1e-4", "--json", env=ACCEPTED)
    assert (same.returncode, other.returncode) == (0, 1)
    decision = json.loads(same.stdout)
    assert decision["model"] == "arcface-w600k-mbf" and decision["licences"] == [LICENCE]
    assert decision["threshold"] == pytest.approx(get_card("arcface-w600k-mbf").threshold_at(1e-4))
    outside = cli("verify", str(lfw("Aaron_Peirsol", 1)), str(lfw("Aaron_Peirsol", 2)), "--profile", "research",
                  "--fmr", "1e-7", env=ACCEPTED)
    assert outside.returncode == 6  # below the smallest FMR the calibration supports: refused, not extrapolated
    record = json.loads(cli("analyze", str(lfw("Aaron_Peirsol", 1)), "--profile", "research-scrfd", "--json", "-",
                            env=ACCEPTED).stdout)
    assert record["detector"] == "scrfd-500m-bnkps" and record["licences"] == [LICENCE]


@pytest.fixture(scope="module")
def research_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    keys = tmp_path_factory.mktemp("research-service") / "keys.json"
    with running_server(keys, profile="research", accept_licences=json.dumps([LICENCE]),
                        gallery_url=f"sqlite:///{keys.parent / 'gallery.db'}") as url:
        yield url, make_key(keys, "analyze")


def test_every_http_response_names_the_licence(research_server):
    url, key = research_server
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        analysed = client.post("/v1/analyze", files={"image": upload(lfw("Aaron_Peirsol", 1))},
                               params={"embed": True})
        verified = client.post("/v1/verify", files={"a": upload(lfw("Aaron_Peirsol", 1)),
                                                    "b": upload(lfw("Aaron_Peirsol", 2))})
        health = client.get("/healthz")
    assert analysed.status_code == 200 and analysed.json()["licences"] == [LICENCE]
    assert len(analysed.json()["faces"][0]["embedding"]) == 512
    assert verified.json()["same"] and verified.json()["licences"] == [LICENCE]
    assert {r.headers["FaceAtlas-Licence"] for r in (analysed, verified, health)} == {LICENCE}


def test_the_106_point_head_outlines_the_face_and_names_its_licence(monkeypatch):
    monkeypatch.setenv("FACEATLAS_ACCEPT_LICENCES", json.dumps([LICENCE]))
    from faceatlas.config import get_settings

    get_settings.cache_clear()
    faces = FaceAnalyzer(profile="default", heads=("landmarks106",)).analyze(lfw("Aaron_Peirsol", 1), embed=False)
    get_settings.cache_clear()
    points = faces.attributes["landmarks106"][0]
    x1, _, x2, y2 = faces.boxes[0]
    assert points.shape == (106, 2) and faces.licences == (LICENCE,)  # YuNet's face, the 106 points' licence
    assert (points[:, 0] > x1 - 5).all() and (points[:, 0] < x2 + 5).all() and (points[:, 1] < y2 + 10).all()
    eyes = faces.landmarks5[0, :2]  # each of YuNet's eye points has 106-point eye contour points within 4 px
    assert all(np.linalg.norm(points - eye, axis=1).min() < 4 for eye in eyes)


def identity_folder(folder: Path, people: int = 40) -> Path:
    """Per-person folders of LFW images (links), people with three or more images: calibration data."""
    images = data_path("lfw_view1", "images")
    chosen = [p for p in sorted(images.iterdir()) if len(list(p.glob("*.jpg"))) >= 3][:people]
    for person in chosen:
        (folder / person.name).mkdir(parents=True)
        for image in person.glob("*.jpg"):
            (folder / person.name / image.name).symlink_to(image)
    return folder


def test_an_insightface_pack_folder_is_imported_calibrated_and_decides_at_a_named_fmr(tmp_path, monkeypatch):
    shipped = {m: Path(resolve(get_card(m))) for m in ("arcface-w600k-mbf", "scrfd-500m-bnkps")}
    pack = tmp_path / "buffalo_s"
    pack.mkdir()
    shutil.copy(shipped["arcface-w600k-mbf"], pack / "w600k_mbf.onnx")
    shutil.copy(shipped["scrfd-500m-bnkps"], pack / "det_500m.onnx")
    model = onnx.load(str(shipped["arcface-w600k-mbf"]))
    model.producer_name = "a user's own export"  # the same network, another file: a SHA-256 FaceAtlas does not know
    onnx.save(model, str(pack / "w600k_r50.onnx"))
    monkeypatch.setenv("FACEATLAS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "400")
    imported = cli("models", "import", str(pack), "--accept-licence", LICENCE)
    assert imported.returncode == 0
    lines = " ".join(imported.stderr.split())
    assert lines.count("the bundled model") == 2 and "arcface-w600k-mbf" in lines and "scrfd-500m-bnkps" in lines
    draft = tmp_path / "home" / "cards" / "drafts" / "w600k_r50.json"
    fields = json.loads(draft.read_text())
    assert (fields["task"], fields["architecture"], fields["input_spec"]["mean"]) == ("recognise", "arcface", 127.5)
    fields.pop("introspected")
    fields.update(licence="InsightFace: non-commercial research only", accept_licence=LICENCE)
    draft.write_text(json.dumps(fields))
    people = identity_folder(tmp_path / "people")
    calibrated = cli("models", "import", str(pack), "--card", str(draft), "--calibrate", str(people),
                     "--profile", "fast")
    assert calibrated.returncode == 0, calibrated.stderr
    table = get_card("w600k_r50").calibration
    assert table is not None and table.fmr_range == (1e-2, 1e-2)  # ~10k impostor pairs resolve 1e-2 alone
    a, b, c = lfw("Aaron_Peirsol", 1), lfw("Aaron_Peirsol", 2), lfw("Abdullah_Gul", 13)
    mine = {"FACEATLAS_RECOGNISER": "w600k_r50", "FACEATLAS_PROFILE": "fast"}  # the settings' profile, another model
    same = cli("verify", str(a), str(b), "--fmr", "1e-2", "--json", env=mine)
    other = cli("verify", str(a), str(c), "--fmr", "1e-2", "--json", env=mine)
    assert (same.returncode, other.returncode) == (0, 1)
    assert json.loads(same.stdout)["model"] == "w600k_r50" and json.loads(same.stdout)["licences"] == [LICENCE]
    assert cli("verify", str(a), str(b), "--fmr", "1e-3", env=mine).returncode == 6
    named = cli("verify", str(a), str(b), "--profile", "fast", "--json", env=mine)  # a named profile: its own model
    assert json.loads(named.stdout)["model"] == "sface-2021dec-int8bq"
    offline = cli("verify", str(a), str(b), "--profile", "research-scrfd", "--fmr", "1e-4", "--json")
    assert offline.returncode == 0 and json.loads(offline.stdout)["model"] == "arcface-w600k-mbf"


def test_a_permissive_server_names_a_restricted_head_where_a_request_used_it(tmp_path):
    keys = tmp_path / "keys.json"
    with running_server(keys, profile="fast", accept_licences=json.dumps([LICENCE]),
                        gallery_url=f"sqlite:///{tmp_path / 'gallery.db'}") as url, \
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {make_key(keys, 'analyze')}"},
                         timeout=60) as client:
        plain = client.post("/v1/analyze", files={"image": upload(lfw("Aaron_Peirsol", 1))})
        dense = client.post("/v1/analyze", files={"image": upload(lfw("Aaron_Peirsol", 1))},
                            params={"heads": "landmarks106"})
    assert "FaceAtlas-Licence" not in plain.headers and plain.json()["licences"] == []
    assert dense.headers["FaceAtlas-Licence"] == LICENCE and dense.json()["licences"] == [LICENCE]
