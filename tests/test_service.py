"""The HTTP API as a client meets it: `faceatlas serve` started as a real process on loopback, real models, real
uploads; every error an RFC 9457 problem, never a traceback."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from helpers import ASTRONAUT
from serving import free_port, make_key, running_server, upload

UPLOAD_LIMIT = 2_000_000
RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service") / "keys.json"


@pytest.fixture(scope="module")
def server(keys: Path) -> Iterator[str]:
    gallery = keys.parent / "gallery.db"
    with running_server(keys, max_upload_bytes=str(UPLOAD_LIMIT), gallery_url=f"sqlite:///{gallery}",
                        eval_results=str(RESULTS)) as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str, keys: Path) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {make_key(keys, 'analyze')}"},
                      timeout=60) as authorised:
        yield authorised


def test_health_metrics_and_the_published_schema(server: str, client: httpx.Client):
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok", "detail": ""}
    client.post("/v1/analyze", files={"image": upload(ASTRONAUT)})
    metrics = httpx.get(f"{server}/metrics").text
    assert 'faceatlas_http_requests_total{method="POST",route="/v1/analyze",status="200"}' in metrics
    assert "faceatlas_http_request_seconds_bucket" in metrics and "faceatlas_queue_depth 0.0" in metrics
    faces = [line.split()[1] for line in metrics.splitlines() if line.startswith("faceatlas_faces_total ")]
    assert float(faces[0]) >= 1
    schema = httpx.get(f"{server}/openapi.json").json()
    assert {"/v1/analyze", "/v1/verify", "/healthz", "/readyz"} <= set(schema["paths"])
    assert "Analysis" in schema["components"]["schemas"]


def test_analyze_finds_the_face_and_embeds_on_request(client: httpx.Client):
    found = client.post("/v1/analyze", files={"image": upload(ASTRONAUT)})
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["image_size"] == [512, 512] and len(body["faces"]) == 1 and body["faces"][0]["embedding"] is None
    x1, y1, x2, y2 = body["faces"][0]["box"]
    assert 150 < x1 < x2 < 350 and 50 < y1 < y2 < 250
    embedded = client.post("/v1/analyze?embed=true", files={"image": upload(ASTRONAUT)}).json()
    assert len(embedded["faces"][0]["embedding"]) == 128
    described = client.post("/v1/analyze?heads=age_gender&heads=expression", files={"image": upload(ASTRONAUT)})
    attributes = described.json()["faces"][0]["attributes"]
    assert attributes["gender"] == "female" and 20 < attributes["age"] < 45 and attributes["expression"] == "happy"
    unknown = client.post("/v1/analyze?heads=horoscope", files={"image": upload(ASTRONAUT)})
    assert unknown.status_code == 422 and "horoscope" in unknown.json()["detail"]


def test_verify_decides_at_the_asked_rate(client: httpx.Client, tmp_path: Path):
    mirrored = tmp_path / "mirrored.png"
    cv2.imwrite(str(mirrored), cv2.imread(str(ASTRONAUT))[:, ::-1])
    same = client.post("/v1/verify?fmr=0.001", files={"a": upload(ASTRONAUT), "b": upload(mirrored)})
    assert same.status_code == 200 and same.json()["same"] is True and same.json()["fmr"] == 0.001


def test_bad_input_is_a_problem_with_its_type_never_a_traceback(client: httpx.Client, tmp_path: Path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    bad = client.post("/v1/analyze", files={"image": upload(text)})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["type"] == "urn:faceatlas:problem:image-decode-error" and "Traceback" not in bad.text
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((64, 64, 3), 128, np.uint8))
    no_face = client.post("/v1/verify", files={"a": upload(ASTRONAUT), "b": upload(blank)})
    assert no_face.status_code == 422 and no_face.json()["type"] == "urn:faceatlas:problem:no-face-error"
    missing = client.post("/v1/analyze")
    assert missing.status_code == 422 and missing.json()["type"] == "urn:faceatlas:problem:invalid-request"
    bad_rate = client.post("/v1/verify?fmr=2", files={"a": upload(ASTRONAUT), "b": upload(ASTRONAUT)})
    assert bad_rate.status_code == 422 and "fmr" in bad_rate.json()["detail"]


def test_an_oversized_body_is_refused_before_it_is_read(server: str):
    declared = httpx.post(f"{server}/v1/analyze", content=b"x" * (UPLOAD_LIMIT + 1),
                          headers={"content-type": "multipart/form-data; boundary=x"}, timeout=60)
    assert declared.status_code == 413 and declared.json()["type"] == "urn:faceatlas:problem:body-too-large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused as it grows
        for _ in range(UPLOAD_LIMIT // 65536 + 2):
            yield b"y" * 65536

    streamed = httpx.post(f"{server}/v1/analyze", content=chunks(),
                          headers={"content-type": "multipart/form-data; boundary=y"}, timeout=60)
    assert streamed.status_code == 413
    assert httpx.get(f"{server}/healthz").status_code == 200  # still up


def test_a_full_queue_answers_503_with_retry_after(tmp_path: Path, keys: Path):
    """With no room to wait (FACEATLAS_SERVE_QUEUE=0), requests beyond the one being analysed are turned away at
    once instead of piling up."""
    import concurrent.futures

    big = tmp_path / "big.jpg"
    cv2.imwrite(str(big), cv2.resize(cv2.imread(str(ASTRONAUT)), (4000, 3000)))
    token = {"Authorization": f"Bearer {make_key(keys, 'analyze')}"}
    with running_server(keys, serve_queue="0") as url, concurrent.futures.ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: httpx.post(f"{url}/v1/analyze", files={"image": upload(big)},
                                                     headers=token, timeout=120), range(6)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses[0] == 200 and statuses[-1] == 503, statuses
    busy = next(a for a in answers if a.status_code == 503)
    assert busy.headers["retry-after"] == "1" and busy.json()["type"] == "urn:faceatlas:problem:queue-full"


def test_only_a_valid_key_with_the_scope_is_served_and_a_revoked_one_no_longer(server: str, keys: Path):
    photo = {"image": upload(ASTRONAUT)}
    nobody = httpx.post(f"{server}/v1/analyze", files=photo, timeout=60)
    assert nobody.status_code == 401 and nobody.headers["www-authenticate"] == "Bearer"
    forged = httpx.post(f"{server}/v1/analyze", files=photo, headers={"X-API-Key": "fa_000000000000_guess"})
    assert forged.status_code == 401
    other_scope = make_key(keys, "identify")
    refused = httpx.post(f"{server}/v1/analyze", files=photo, headers={"X-API-Key": other_scope}, timeout=60)
    assert refused.status_code == 403 and "analyze" in refused.json()["detail"]
    token = make_key(keys, "analyze")
    assert httpx.post(f"{server}/v1/analyze", files=photo, headers={"X-API-Key": token}, timeout=60).status_code == 200
    assert token not in keys.read_text() and oct(keys.stat().st_mode & 0o777) == "0o600"  # hashes only, private
    key_id = token.split("_")[1]
    env = {**os.environ, "FACEATLAS_API_KEYS": str(keys)}
    subprocess.run([sys.executable, "-m", "faceatlas.cli", "serve", "keys", "revoke", key_id], check=True, env=env,
                   capture_output=True, timeout=60)
    revoked = httpx.post(f"{server}/v1/analyze", files=photo, headers={"X-API-Key": token}, timeout=60)
    assert revoked.status_code == 401
    audit = [json.loads(line) for line in (keys.parent / "audit.jsonl").read_text().splitlines()]
    assert [e["event"] for e in audit if e["key"] == key_id] == ["key created", "key revoked"]
    assert token.split("_", 2)[2] not in (keys.parent / "audit.jsonl").read_text()  # the secret is never written


def test_collections_enrol_identify_verify_erase(server: str, keys: Path, tmp_path: Path):
    """The collection routes as a client calls them (which key reaches which route: `test_service_isolation.py`)."""
    team = {"X-API-Key": make_key(keys, "enrol", "identify", "erase", collection="team")}
    mirrored = tmp_path / "mirrored.png"
    cv2.imwrite(str(mirrored), cv2.imread(str(ASTRONAUT))[:, ::-1])
    base = f"{server}/v1/collections/team"
    calls = {
        "list people": lambda h: httpx.get(f"{base}/people", headers=h, timeout=60),
        "enrol": lambda h: httpx.post(f"{base}/people/alice/faces", files=[("images", upload(ASTRONAUT))],
                                      headers=h, timeout=60),
        "identify": lambda h: httpx.post(f"{base}/identify", files={"image": upload(mirrored)}, headers=h,
                                         timeout=60),
        "verify": lambda h: httpx.post(f"{base}/people/alice/verify", files={"image": upload(mirrored)}, headers=h,
                                       timeout=60),
        "erase": lambda h: httpx.delete(f"{base}/people/alice", headers=h, timeout=60),
    }
    assert calls["list people"](team).status_code == 404  # no collection yet: reading never creates one
    enrolled = calls["enrol"](team)
    assert enrolled.status_code == 200 and len(enrolled.json()["added"]) == 1, enrolled.text
    assert [p["name"] for p in calls["list people"](team).json()] == ["alice"]
    found = calls["identify"](team).json()
    assert len(found) == 1 and found[0]["decision"] == "alice"
    assert calls["verify"](team).json()["same"] is True
    erased = calls["erase"](team)
    assert erased.status_code == 200 and "none of its" in erased.json()["proof"], erased.text
    assert calls["list people"](team).json() == [] and calls["identify"](team).json()[0]["decision"] is None
    gone = calls["erase"](team)
    assert gone.status_code == 422 and gone.json()["type"] == "urn:faceatlas:problem:gallery-error"


def test_the_python_client_returns_the_python_apis_results_and_raises_its_errors(server: str, keys: Path,
                                                                                   tmp_path: Path):
    from faceatlas.client import Client, ServiceError
    from faceatlas.errors import GalleryNotFoundError, NoFaceError

    token = make_key(keys, "analyze", "enrol", "identify", "erase", collection="clients")
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((64, 64, 3), 128, np.uint8))
    with Client(server, token) as api:
        faces = api.analyze(ASTRONAUT, embed=True)
        assert len(faces) == 1 and faces.image_size == (512, 512) and faces.embeddings.shape == (1, 128)
        assert api.verify(ASTRONAUT, ASTRONAUT.read_bytes(), fmr=1e-3).same
        with pytest.raises(NoFaceError, match="no face"):
            api.verify(ASTRONAUT, blank)
        with pytest.raises(GalleryNotFoundError):
            api.people("clients")
        assert len(api.enroll("clients", "alice", [ASTRONAUT]).added) == 1
        assert [p.name for p in api.people("clients")] == ["alice"]
        assert api.identify("clients", ASTRONAUT)[0].decision == "alice"
        assert api.verify_person("clients", "alice", ASTRONAUT).same
        assert api.rename("clients", "alice", "Alice Éileen").name == "Alice Éileen"  # quoted in the path
        [sample] = api.show("clients", "Alice Éileen").samples
        assert api.move_samples("clients", "Alice Éileen", [sample.id], "eileen") == 1
        assert api.merge("clients", "eileen", "Alice Éileen") == 1
        assert [(p.name, p.samples) for p in api.people("clients")] == [("Alice Éileen", 1)]
        assert "none of its" in api.erase("clients", "Alice Éileen").proof
    with Client(server, "fa_nobody_nothing") as stranger, pytest.raises(ServiceError) as refused:
        stranger.analyze(ASTRONAUT)
    assert refused.value.status == 401


def test_the_evaluation_report_is_served_to_admin_keys_only(server: str, keys: Path):
    admin = httpx.get(f"{server}/v1/reports", headers={"X-API-Key": make_key(keys, "admin")}, timeout=60)
    assert admin.status_code == 200 and admin.headers["content-type"].startswith("text/html")
    assert "<h2>Models</h2>" in admin.text and "default-src 'none'" in admin.headers["content-security-policy"]
    other = httpx.get(f"{server}/v1/reports", headers={"X-API-Key": make_key(keys, "identify")}, timeout=60)
    assert other.status_code == 403


def test_ready_means_the_store_answers_too(keys: Path):
    """A server whose database cannot be reached is up (/healthz) but not ready (/readyz 503, saying why)."""
    port = free_port()
    env = {**os.environ, "FACEATLAS_API_KEYS": str(keys),
           "FACEATLAS_GALLERY_URL": f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/nothing?connect_timeout=2"}
    process = subprocess.Popen([sys.executable, "-m", "faceatlas.cli", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, answer = time.monotonic() + 120, None
        while time.monotonic() < deadline and (answer is None or answer.json()["status"] == "loading"):
            time.sleep(0.3)
            with contextlib.suppress(httpx.TransportError):
                answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert answer is not None and answer.status_code == 503, answer and answer.text
        assert answer.json() == {"status": "unavailable",
                                 "detail": "the gallery database cannot be reached (StoreError)"}
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
