"""Schemathesis over the live server's own OpenAPI document: every operation fuzzed with data that fits the schema
and data that does not, every answer checked against the schema (a documented status, its content type, its body's
schema) and none a server error."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from helpers import ASTRONAUT
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode, checks
from serving import Server, make_key, running_server, upload

EXAMPLES = 12
"""Cases per operation and generation mode (~30 operations, two modes: ~700 requests), the same ones every run
(derandomized: a failure here is reproducible, not a flake)."""
BUDGET = 30.0
"""Seconds of fuzzing: cases beyond it are skipped (and counted) so that a slow machine cannot stall the run; an
operation not yet tried still gets its first case."""
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]
SEEDED = "fuzz"
"""The collection schemathesis's positive cases name, with one person enrolled so that reads find something."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A server and a key holding every scope for every collection ('*'): with a key for one collection, nearly
    every generated collection name would be refused 403 by the key check, and the fuzzing would reach no handler
    (which collection a key may touch is what `test_service_isolation.py` tests)."""
    home = tmp_path_factory.mktemp("schema")
    keys, folder = home / "keys.json", home / "served"
    folder.mkdir()
    token = make_key(keys, "analyze", "identify", "enrol", "erase", "admin", collection="*")
    with running_server(keys, gallery_url=f"sqlite:///{home / 'gallery.db'}", serve_folders=f'["{folder}"]',
                        keep_thumbnails_in=f'["{SEEDED}"]', max_upload_bytes="1000000", request_timeout="20") as url:
        enrolled = httpx.post(f"{url}/v1/collections/{SEEDED}/people/alice/faces", timeout=60,
                              files=[("images", upload(ASTRONAUT))], headers={"X-API-Key": token})
        assert enrolled.status_code == 200, enrolled.text
        yield url, token


@dataclass
class Tally:
    """What the fuzzing met: cases per operation, statuses, schema failures (what failed -> how many cases)."""

    started: float = field(default_factory=time.monotonic)
    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    unnegatable: list[str] = field(default_factory=list)


def fuzz(operation: APIOperation, mode: GenerationMode, url: str, auth: dict[str, str], tally: Tally) -> None:
    """`EXAMPLES` cases of `operation` in `mode`, each sent and checked; failures are tallied, not raised, so that
    the summary shows them all."""
    pinned = {"collection": SEEDED} if mode.is_positive and "{collection}" in operation.path else None

    @given(case=operation.as_strategy(mode, headers=auth, path_parameters=pinned))
    @settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.generate], database=None,
              suppress_health_check=list(HealthCheck), derandomize=True)
    def send(case: schemathesis.Case) -> None:
        if time.monotonic() - tally.started > BUDGET and tally.cases[operation.label]:  # each gets one at least
            tally.skipped += 1
            return
        response = case.call(base_url=url, headers=auth, timeout=30)
        tally.cases[operation.label] += 1
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=auth)
        except schemathesis.errors.FailureGroup as failed:
            titles = "; ".join(sorted({failure.title for failure in failed.exceptions}))
            tally.failures[f"{operation.label} [{mode.value}] -> {response.status_code}: {titles}"] += 1

    try:
        send()
    except Unsatisfiable:  # nothing of the operation can be made invalid (no parameter, no body)
        tally.unnegatable.append(operation.label)


def test_every_operation_answers_as_its_schema_says_and_never_5xx(server: tuple[Server, str], capsys):
    url, token = server
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    auth = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    tally = Tally()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz(operation, mode, url, auth, tally)

    elapsed = time.monotonic() - tally.started
    server_errors = sum(n for status, n in tally.statuses.items() if status >= 500)
    with capsys.disabled():
        print(f"\nschemathesis: {len(operations)} operations, {tally.cases.total()} cases in {elapsed:.1f} s "
              f"({tally.skipped} skipped past the budget), {server_errors} 5xx, {tally.failures.total()} schema "
              f"failures; statuses {dict(sorted(tally.statuses.items()))}; no negative case for {tally.unnegatable}")
        for failure, times in tally.failures.items():
            print(f"   {times} x {failure}")
    assert len(operations) >= 26 and all(tally.cases[o.label] >= 1 for o in operations), tally.cases
    assert server_errors == 0 and not tally.failures
    assert httpx.get(f"{url}/healthz").status_code == 200


@pytest.mark.parametrize(("path", "body"), [
    ("library/index", {"folder": "~no-such-user-here/photos"}),  # Path.expanduser raised: was a 500
    ("library/review/undo", {"cluster": 2**63, "verdict": "not", "subject_id": 1}),  # SQLite's overflow: was a 500
    ("people/alice/samples/move", {"samples": [2**63], "to": "bob"}),  # the same
    ("library/clusters/0/merge", {"other": 2**64}),
    ("library/review/answers", {"cluster": -1, "subject_id": 2**70, "reply": "yes"}),
])
def test_numbers_out_of_the_stores_range_and_unresolvable_folders_are_refused_422(server: tuple[Server, str],
                                                                                    path: str, body: dict):
    url, token = server
    answer = httpx.post(f"{url}/v1/collections/{SEEDED}/{path}", json=body, timeout=30, headers={"X-API-Key": token})
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json", answer.text


def test_verifying_against_a_person_whose_samples_all_moved_is_a_422_not_a_500(server: tuple[Server, str]):
    url, token = server
    base, key = f"{url}/v1/collections/moved/people", {"X-API-Key": token}
    enrolled = httpx.post(f"{base}/carol/faces", files=[("images", upload(ASTRONAUT))], headers=key, timeout=60)
    sample = enrolled.json()["added"][0]
    moved = httpx.post(f"{base}/carol/samples/move", json={"samples": [sample], "to": "dave"}, headers=key, timeout=30)
    assert moved.json() == {"moved": 1, "into": "dave"}
    answer = httpx.post(f"{base}/carol/verify", files={"image": upload(ASTRONAUT)}, headers=key, timeout=60)
    assert answer.status_code == 422 and answer.json()["type"] == "urn:faceatlas:problem:gallery-error"
    assert "no sample" in answer.json()["detail"]
