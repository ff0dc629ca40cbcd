"""No key reaches past what it holds, on every route of the API: the routes are read from the server's own OpenAPI
document (a new route is covered without a change here) and called with plausible values (real people, samples,
faces, clusters and jobs of two collections) by keys for one collection, with one scope each, and with none."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers import ASTRONAUT
from serving import Server, running_server

from faceatlas.service.keys import KeyStore

SCOPES = ("analyze", "identify", "enrol", "erase", "admin")
"""Each a key of its own, for MINE ('admin' allows every route: each other route must need exactly one other)."""
MINE, THEIRS = "alpha", "theirs-7f3c"
"""THEIRS never appears in a successful answer to a key for MINE."""
ANY_KEY = {"GET /v1/collections", "DELETE /v1/session"}
"""Routes any valid key may call (listing the key's own collections; logging out)."""
NOT_BY_HEADER = {"POST /v1/session", "GET /v1/session"}
"""Routes that take no key from the headers (a login takes it in its body; the session is its cookie)."""


def key(keys: Path, *scopes: str, collection: str) -> str:
    """A key made straight in the key file (the server reads it again when it changes; quicker than the CLI)."""
    return KeyStore(keys).create("isolation", list(scopes), [collection])[1]


def refusals(route: str) -> set[int]:
    """How a route refuses a key: 403; 404 too for a job or key of another collection (whose existence is not
    told); 401 where no key is taken from the headers."""
    if route in NOT_BY_HEADER:
        return {401}
    return {403, 404} if route.split()[1].startswith(("/v1/jobs/", "/v1/keys/")) else {403}


@dataclass
class World:
    url: Server
    admin: dict[str, str]  # every scope, every collection: the setup's and the checks' key
    everything: dict[str, str]  # every scope (admin too), for MINE only
    single: dict[str, dict[str, str]]  # scope -> a key holding only it, for MINE
    values: dict[str, dict[str, Any]]  # collection -> path, query and body values that exist there
    audit: Path


def request(method: str, path: str, operation: dict, schemas: dict, values: dict[str, Any]) -> dict[str, Any]:
    """`operation` as called on the collection of `values`: its path, required query parameters and a body (each
    file field an image), as arguments of `httpx.request`."""
    query = {p["name"]: values[p["name"]] for p in operation.get("parameters", [])
             if p["in"] == "query" and p.get("required")}
    content = operation.get("requestBody", {}).get("content", {})
    files, body = None, None
    if "multipart/form-data" in content:
        form = resolve(content["multipart/form-data"]["schema"], schemas)
        files = [(name, upload_astronaut()) for name in form["properties"]]
    elif "application/json" in content:
        body = example(content["application/json"]["schema"], schemas, values)
    return {"method": method, "url": path.format(**values), "params": query, "files": files, "json": body}


def resolve(schema: dict, schemas: dict) -> dict:
    return schemas[schema["$ref"].rpartition("/")[2]] if "$ref" in schema else schema


def example(schema: dict, schemas: dict, values: dict[str, Any], name: str = "") -> Any:
    """A plausible value of `schema`: the collection's own where `values` names the field, else the simplest."""
    schema = resolve(schema, schemas)
    if name in values:
        return values[name]
    if "anyOf" in schema:
        return example(next(s for s in schema["anyOf"] if s.get("type") != "null"), schemas, values, name)
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("type") == "object":
        return {field: example(s, schemas, values, field) for field, s in schema["properties"].items()}
    if schema.get("type") == "array":
        return [example(schema["items"], schemas, values)]
    return {"string": "x", "integer": 0, "number": 0.5, "boolean": False}[schema["type"]]


def wait_for(url: str, job: str, headers: dict[str, str]) -> dict:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = httpx.get(f"{url}/v1/jobs/{job}", headers=headers, timeout=30).json()
        if state["state"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"job {job} did not finish")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Two collections, each with a person (a kept thumbnail of their sample) and a photo library of one photo
    indexed by a job; keys for the first."""
    home = tmp_path_factory.mktemp("isolation")
    keys, photos = home / "keys.json", home / "photos"
    photos.mkdir()
    shutil.copy(ASTRONAUT, photos / "astronaut.png")
    admin = {"X-API-Key": key(keys, *SCOPES, collection="*")}
    everything = {"X-API-Key": key(keys, *SCOPES, collection=MINE)}
    single = {scope: {"X-API-Key": key(keys, scope, collection=MINE)} for scope in SCOPES}
    spare = {c: key(keys, "identify", collection=c).split("_")[1] for c in (MINE, THEIRS)}  # for key routes
    with running_server(keys, gallery_url=f"sqlite:///{home / 'gallery.db'}", serve_folders=f'["{photos}"]',
                        keep_thumbnails_in=f'["{MINE}", "{THEIRS}"]') as url:
        values = {}
        for collection in (MINE, THEIRS):
            base = f"{url}/v1/collections/{collection}"
            enrolled = httpx.post(f"{base}/people/alice/faces", files=[("images", upload_astronaut())],
                                  headers=admin, timeout=60)
            assert enrolled.status_code == 200, enrolled.text
            job = httpx.post(f"{base}/library/index", json={"folder": str(photos)}, headers=admin, timeout=60).json()
            assert wait_for(url, job["id"], admin)["state"] == "done"
            [cluster] = httpx.get(f"{base}/library/people", headers=admin, timeout=60).json()
            sample = httpx.get(f"{base}/people/alice", headers=admin, timeout=60).json()["samples"][0]["id"]
            values[collection] = {
                "collection": collection, "name": "alice", "sample": sample, "face": cluster["sample_face"],
                "cluster": cluster["cluster"], "job_id": job["id"], "person": "alice", "into": "alice", "to": "bob",
                "samples": [sample], "subject_id": 1, "other": cluster["cluster"], "face_ids": [cluster["sample_face"]],
                "folder": str(photos), "reply": "skip", "verdict": "not", "key_id": spare[collection],
                "scopes": ["identify"], "collections": [collection]}
        yield World(url, admin, everything, single, values, keys.parent / "audit.jsonl")


def upload_astronaut() -> tuple[str, bytes, str]:
    return ASTRONAUT.name, ASTRONAUT.read_bytes(), "image/png"


def state_of(world: World, collection: str) -> tuple:
    """What a leak would change in a collection: its people and samples, its library, and which keys the audit
    log says changed it."""
    base = f"{world.url}/v1/collections/{collection}"
    people = httpx.get(f"{base}/people/alice", headers=world.admin, timeout=60).json()
    library = httpx.get(f"{base}/library/people", headers=world.admin, timeout=60).json()
    events = [json.loads(line) for line in world.audit.read_text().splitlines()]
    changed_by = sorted({e["key"] for e in events if e.get("collection") == collection})
    return people, library, changed_by


def test_no_key_reaches_another_collection_or_past_its_scope_on_any_route(world: World):
    """Every /v1 route: 401 without a key; refused to a key holding every scope for MINE when called on THEIRS
    (when the call names a collection: its request differs between the two); refused to every key for MINE holding
    one scope but the route's. No successful answer to a key for MINE names THEIRS, and THEIRS is unchanged."""
    document = httpx.get(f"{world.url}/openapi.json").json()
    schemas = document["components"]["schemas"]
    routes = sorted([(method.upper(), path, operation) for path, operations in document["paths"].items()
                     if path.startswith("/v1/") for method, operation in operations.items()],
                    key=lambda route: ["GET", "POST", "PATCH", "DELETE"].index(route[0]))  # reads before changes
    theirs_before = state_of(world, THEIRS)
    client = httpx.Client(base_url=world.url, timeout=60)
    rows, leaks = [], []
    for method, path, operation in routes:
        route = f"{method} {path}"
        mine, theirs = (request(method, path, operation, schemas, world.values[c]) for c in (MINE, THEIRS))
        anonymous = client.request(**mine).status_code
        other = client.request(**theirs, headers=world.everything).status_code if theirs != mine else None
        answers = {scope: client.request(**mine, headers=headers) for scope, headers in world.single.items()}
        by_scope = {scope: answer.status_code for scope, answer in answers.items()}
        allowed = [scope for scope, status in by_scope.items() if status not in refusals(route)]
        refused = [status for scope, status in by_scope.items() if scope not in allowed]
        named = [scope for scope, answer in answers.items() if answer.is_success and THEIRS in answer.text]
        if route in ANY_KEY:
            expected = list(SCOPES)
        elif route in NOT_BY_HEADER:
            expected = []
        else:  # admin, and the one scope the route needs (or admin alone)
            expected = [*[s for s in allowed if s != "admin"][:1], "admin"]
        scope = "any key" if route in ANY_KEY else ",".join(s for s in allowed if s != "admin") or "-".join(allowed)
        rows.append((route, scope or "-", anonymous,
                     "-" if other is None else other, ",".join(map(str, refused)) or "-",
                     ",".join(str(by_scope[s]) for s in allowed) or "-"))
        if anonymous != 401 or (other is not None and other not in refusals(route)) or allowed != expected or named or \
                any(by_scope[s] >= 500 for s in allowed):
            leaks.append((route, anonymous, other, by_scope, named))
    client.close()
    print(f"\n{'route':<68} {'scope':<9} {'no key':<7} {'other coll.':<12} {'other scopes':<20} with scope")
    for row in rows:
        print(f"{row[0]:<68} {row[1]:<9} {row[2]:<7} {row[3]!s:<12} {row[4]:<20} {row[5]}")
    print(f"{len(rows)} routes, {len(leaks)} leaks")
    assert len(rows) >= 24 and leaks == []
    assert state_of(world, THEIRS) == theirs_before  # nothing of theirs was changed


def test_listing_collections_shows_only_the_keys_own(world: World):
    for headers in (world.everything, *world.single.values()):
        listed = httpx.get(f"{world.url}/v1/collections", headers=headers, timeout=30)
        assert listed.status_code == 200 and listed.json() == [MINE]
    assert sorted(httpx.get(f"{world.url}/v1/collections", headers=world.admin, timeout=30).json()) == [MINE, THEIRS]


def test_a_job_is_seen_only_with_identify_on_its_collection(world: World):
    mine, theirs = world.values[MINE]["job_id"], world.values[THEIRS]["job_id"]
    assert httpx.get(f"{world.url}/v1/jobs/{mine}", headers=world.single["identify"]).json()["collection"] == MINE
    for job in (theirs, "0" * 16):  # another collection's job answers as one that does not exist
        answer = httpx.get(f"{world.url}/v1/jobs/{job}", headers=world.everything)
        assert answer.status_code == 404 and answer.json()["detail"] == f"no job {job}"
