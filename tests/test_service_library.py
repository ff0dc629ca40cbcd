"""The photo library and the people of a collection over HTTP, on a real server process and real LFW photos: a
served folder indexed as a job whose progress streams as Server-Sent Events, clusters named, photos found, people
renamed, merged and split, each change in the audit log with the key that made it; folders outside the served ones
refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import data_path
from serving import make_key, running_server

LFW = data_path("lfw_view1") / "images"
PEOPLE = ("Paul_Wolfowitz", "Jennifer_Lopez", "Ricardo_Lagos")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Path, Path]]:
    if not all((LFW / person).is_dir() for person in PEOPLE):
        pytest.skip(f"LFW photos of {', '.join(PEOPLE)} not found under {LFW} (see ../shared/data/README.md)")
    root = tmp_path_factory.mktemp("library")
    photos = root / "served" / "photos"
    photos.mkdir(parents=True)
    for person in PEOPLE:
        for photo in sorted((LFW / person).glob("*.jpg"))[:5]:
            (photos / photo.name).symlink_to(photo)
    keys = root / "keys.json"
    token = make_key(keys, "enrol", "identify", collection="family")
    with running_server(keys, gallery_url=f"sqlite:///{root / 'gallery.db'}", workers="1",
                        serve_folders=json.dumps([str(root / "served")])) as url, \
            httpx.Client(base_url=f"{url}/v1", headers={"X-API-Key": token}, timeout=120) as client:
        yield client, photos, keys


def test_a_served_folder_is_indexed_as_a_job_streaming_its_progress(served):
    client, photos, _ = served
    outside = client.post("/collections/family/library/index", json={"folder": str(photos.parent.parent)})
    assert outside.status_code == 403 and "FACEATLAS_SERVE_FOLDERS" in outside.json()["detail"]
    escape = client.post("/collections/family/library/index", json={"folder": f"{photos}/../../.."})
    assert escape.status_code == 403
    started = client.post("/collections/family/library/index", json={"folder": str(photos)})
    assert started.status_code == 202, started.text
    job = started.json()
    events = []
    with client.stream("GET", f"/jobs/{job['id']}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
            if line.startswith("data:") and events[-1] in ("done", "failed"):
                finished = json.loads(line[5:])
                break
    assert events[-1] == "done" and events.count("progress") >= 2, (events, finished)
    assert finished["result"]["analysed"] == 15 and finished["done"] == finished["total"] == 15
    assert client.get(f"/jobs/{job['id']}").json()["state"] == "done"
    other = {"X-API-Key": make_key(served[2], "identify", collection="elsewhere")}
    assert client.get(f"/jobs/{job['id']}", headers=other).status_code == 404  # another collection's job


def test_clusters_are_named_found_and_their_people_renamed_merged_and_split(served):
    client, _, keys = served
    people = client.get("/collections/family/library/people").json()
    assert len(people) >= 3 and sum(p["faces"] for p in people) >= 15
    thumbnail = client.get(f"/collections/family/library/faces/{people[0]['sample_face']}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    assert thumbnail.content[:3] == b"\xff\xd8\xff"
    first, second = people[0]["cluster"], people[1]["cluster"]
    named = client.post(f"/collections/family/library/clusters/{first}/name", json={"name": "first"})
    assert named.status_code == 200 and named.json()["faces"] == people[0]["faces"], named.text
    assert client.post(f"/collections/family/library/clusters/{second}/name", json={"name": "second"}).status_code \
        == 200
    found = client.get("/collections/family/library/photos", params={"person": "first"}).json()
    assert len({row["path"] for row in found}) == people[0]["faces"]
    record = client.get("/collections/family/people/first").json()
    assert len(record["samples"]) == people[0]["faces"]
    moved = client.post("/collections/family/people/first/samples/move",
                        json={"samples": [record["samples"][0]["id"]], "to": "third"})
    assert moved.json() == {"moved": 1, "into": "third"}
    not_hers = client.post("/collections/family/people/first/samples/move",
                           json={"samples": [record["samples"][0]["id"]], "to": "second"})
    assert not_hers.status_code == 422 and "not 'first''s" in not_hers.json()["detail"]
    assert client.patch("/collections/family/people/third", json={"name": "second"}).status_code == 422  # taken
    assert client.patch("/collections/family/people/third", json={"name": "fourth"}).json()["name"] == "fourth"
    merged = client.post("/collections/family/people/fourth/merge", json={"into": "first"})
    assert merged.json() == {"moved": 1, "into": "first"}
    counts = {p["name"]: p["samples"] for p in client.get("/collections/family/people").json()}
    assert counts == {"first": people[0]["faces"], "second": people[1]["faces"]}
    events = [json.loads(line) for line in keys.with_name("audit.jsonl").read_text().splitlines()]
    changes = [(e["event"], e.get("person")) for e in events if e.get("collection") == "family"]
    assert changes == [("index", None), ("name cluster", "first"), ("name cluster", "second"), ("move", "first"),
                       ("rename", "third"), ("merge", "fourth")]
    assert all(e["key"] and e["name"] == "tests" and "fa_" not in json.dumps(e) for e in events)
