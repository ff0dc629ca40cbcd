"""Beyond one machine: two `faceatlas serve` processes share one PostgreSQL store and one Milvus standalone server
(both real processes the test starts); whatever one server enrols, renames or erases, the other answers from at
once."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from helpers import data_path
from milvus_servers import milvus_standalone
from postgres import new_database, postgres_server
from serving import make_key, running_server, upload

LFW = data_path("lfw_view1")


def photos(person: str) -> list[Path]:
    found = sorted((LFW / "images" / person).glob("*.jpg"))
    if len(found) < 3:
        pytest.skip(f"LFW photos of {person} not found under {LFW} (see ../shared/data/README.md)")
    return found


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], str]]:
    keys = tmp_path_factory.mktemp("shared") / "keys.json"
    token = make_key(keys, "enrol", "identify", "erase", collection="shared")
    with ExitStack() as stack:
        database = new_database(stack.enter_context(postgres_server()))
        milvus_uri = stack.enter_context(milvus_standalone())
        settings = {"gallery_url": database, "gallery_index": "milvus", "milvus_uri": milvus_uri}
        urls = [stack.enter_context(running_server(keys, **settings)) for _ in range(2)]
        yield urls, token


def test_an_enrolment_through_one_server_is_identified_through_the_other(servers: tuple[list[str], str]):
    (first, second), token = servers
    auth = {"Authorization": f"Bearer {token}"}
    paul, colin = photos("Paul_Wolfowitz"), photos("Colin_Powell")

    def enrol(url: str, name: str, shots: list[Path]) -> httpx.Response:
        return httpx.post(f"{url}/v1/collections/shared/people/{name}/faces", headers=auth, timeout=120,
                          files=[("images", upload(p)) for p in shots])

    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # both servers write at the same moment
        enrolled = list(pool.map(enrol, [first, second], ["paul", "colin"], [paul[:2], colin[:2]]))
    assert [r.status_code for r in enrolled] == [200, 200], [r.text for r in enrolled]
    assert [len(r.json()["added"]) for r in enrolled] == [2, 2], [r.text for r in enrolled]

    def decision(url: str, photo: Path) -> str | None:
        found = httpx.post(f"{url}/v1/collections/shared/identify", files={"image": upload(photo)}, headers=auth,
                           timeout=120)
        assert found.status_code == 200, found.text
        return max(found.json(), key=lambda f: (f["box"][2] - f["box"][0]))["decision"]

    answers = {(url, person): decision(url, shots[2]) for url in (first, second)
               for person, shots in (("paul", paul), ("colin", colin))}
    print("\nidentified (server, person) -> decision:", answers)
    assert answers == {(url, person): person for url, person in answers}

    renamed = httpx.patch(f"{second}/v1/collections/shared/people/colin", json={"name": "colin powell"}, headers=auth,
                          timeout=60)
    assert renamed.status_code == 200, renamed.text
    assert decision(first, colin[2]) == "colin powell"
    erased = httpx.delete(f"{first}/v1/collections/shared/people/paul", headers=auth, timeout=120)
    assert erased.status_code == 200, erased.text
    assert decision(second, paul[2]) is None
    people = httpx.get(f"{second}/v1/collections/shared/people", headers=auth, timeout=60).json()
    assert [p["name"] for p in people] == ["colin powell"]
