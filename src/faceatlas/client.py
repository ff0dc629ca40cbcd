"""A small typed client of the HTTP API (`faceatlas serve`): the Python API's results, over the network.

    >>> from faceatlas.client import Client
    >>> api = Client("http://127.0.0.1:8000", key="fa_...")
    >>> api.analyze("group.jpg").boxes            # a Faces, as FaceAnalyzer.analyze returns
    >>> api.verify("a.jpg", "b.jpg", fmr=1e-4)     # a Verification
    >>> api.enroll("staff", "alice", ["a1.jpg"])   # an EnrollReport
    >>> api.identify("staff", "door.jpg")           # a list of Identification
    >>> api.rename("staff", "alice", "Alice"); api.merge("staff", "al", "Alice")
    >>> job = api.index("family", "/srv/photos"); api.wait(job)   # a served folder (FACEATLAS_SERVE_FOLDERS)
    >>> for item in api.review("family"): api.answer("family", item, "yes")

An error answer is raised as the FaceAtlas error it names (`NoFaceError`, `GalleryNotFoundError`, ...), or as
`ServiceError` with the HTTP status for the API's own conditions (no key, a full queue).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from faceatlas.errors import ERRORS, FaceAtlasError, problem_slug
from faceatlas.gallery.results import (
    Candidate,
    EnrollReport,
    Erasure,
    Identification,
    PersonRecord,
    PersonSummary,
    Refusal,
)
from faceatlas.organize.results import Answer, ClusterSummary, Naming, ReviewItem
from faceatlas.service.jobs import Job
from faceatlas.types import Faces, Verification

PROBLEM_PREFIX = "urn:faceatlas:problem:"


class ServiceError(FaceAtlasError):
    """The HTTP API refused a request for its own reasons (authentication, scope, size, load)."""

    def __init__(self, status: int, problem_type: str, detail: str) -> None:
        super().__init__(f"{status} {problem_type}: {detail}")
        self.status = status
        self.problem_type = problem_type


class Client:
    """The HTTP API at `url`, called with API key `key`."""

    def __init__(self, url: str, key: str, timeout: float = 120.0) -> None:
        self._http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def analyze(self, image: str | Path | bytes, embed: bool = False) -> Faces:
        body = self._call("POST", "/v1/analyze", params={"embed": embed}, files={"image": _file(image)})
        return Faces.from_dict(body)

    def verify(self, a: str | Path | bytes, b: str | Path | bytes, fmr: float = 1e-4,
               min_quality: float | None = None) -> Verification:
        params = {"fmr": fmr, **({"min_quality": min_quality} if min_quality is not None else {})}
        body = self._call("POST", "/v1/verify", params=params, files={"a": _file(a), "b": _file(b)})
        return _verification(body)

    def people(self, collection: str) -> list[PersonSummary]:
        return [PersonSummary(**row) for row in self._call("GET", f"{_collection(collection)}/people")]

    def enroll(self, collection: str, name: str, images: list[str | Path | bytes]) -> EnrollReport:
        body = self._call("POST", f"{_person(collection, name)}/faces",
                          files=[("images", _file(image)) for image in images])
        return EnrollReport(body["subject"], body["added"], [Refusal(**r) for r in body["rejected"]])

    def identify(self, collection: str, image: str | Path | bytes, fpir: float | None = None,
                 fmr: float | None = None, top_k: int = 5) -> list[Identification]:
        params = {k: v for k, v in {"fpir": fpir, "fmr": fmr, "top_k": top_k}.items() if v is not None}
        rows = self._call("POST", f"{_collection(collection)}/identify", params=params,
                          files={"image": _file(image)})
        return [Identification(**{**row, "candidates": [Candidate(**c) for c in row["candidates"]]}) for row in rows]

    def verify_person(self, collection: str, name: str, image: str | Path | bytes, fmr: float = 1e-4
                      ) -> Verification:
        body = self._call("POST", f"{_person(collection, name)}/verify", params={"fmr": fmr},
                          files={"image": _file(image)})
        return _verification(body)

    def erase(self, collection: str, name: str) -> Erasure:
        return Erasure(**self._call("DELETE", _person(collection, name)))

    def show(self, collection: str, name: str) -> PersonRecord:
        return _as(PersonRecord, self._call("GET", _person(collection, name)))

    def rename(self, collection: str, name: str, new: str) -> PersonRecord:
        return _as(PersonRecord, self._call("PATCH", _person(collection, name), json={"name": new}))

    def merge(self, collection: str, source: str, target: str) -> int:
        """Samples moved from `source` to `target`."""
        return int(self._call("POST", f"{_person(collection, source)}/merge", json={"into": target})["moved"])

    def move_samples(self, collection: str, name: str, sample_ids: list[int], to: str) -> int:
        body = {"samples": sample_ids, "to": to}
        return int(self._call("POST", f"{_person(collection, name)}/samples/move", json=body)["moved"])

    # ---- the photo library ----------------------------------------------------------------------------------

    def library_people(self, collection: str, named: bool | None = None) -> list[ClusterSummary]:
        params = {} if named is None else {"named": named}
        return _as(list[ClusterSummary], self._call("GET", f"{_library(collection)}/people", params=params))

    def review(self, collection: str, limit: int | None = None) -> list[ReviewItem]:
        params = {} if limit is None else {"limit": limit}
        return _as(list[ReviewItem], self._call("GET", f"{_library(collection)}/review", params=params))

    def answer(self, collection: str, item: ReviewItem, reply: str) -> Answer:
        body = {"cluster": item.cluster, "subject_id": item.subject_id, "reply": reply}
        return _as(Answer, self._call("POST", f"{_library(collection)}/review/answers", json=body))

    def undo(self, collection: str, answer: Answer) -> None:
        self._call("POST", f"{_library(collection)}/review/undo", json=answer.to_dict())

    def name_cluster(self, collection: str, cluster: int, name: str) -> Naming:
        return _as(Naming, self._call("POST", f"{_library(collection)}/clusters/{cluster}/name", json={"name": name}))

    def index(self, collection: str, folder: str, videos: bool = False) -> Job:
        """Start indexing a folder on the server (inside its FACEATLAS_SERVE_FOLDERS): the job, to `wait` for."""
        body = {"folder": folder, "videos": videos}
        return _as(Job, self._call("POST", f"{_library(collection)}/index", json=body))

    def wait(self, job: Job, poll: float = 0.5) -> Job:
        """The job once it is done or failed (its progress polled every `poll` seconds)."""
        while job.state in ("queued", "running"):
            time.sleep(poll)
            job = _as(Job, self._call("GET", f"/v1/jobs/{job.id}"))
        return job

    def _call(self, method: str, path: str, **options: Any) -> Any:
        answer = self._http.request(method, path, **options)
        if answer.is_success:
            return answer.json()
        problem = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
        kind = str(problem.get("type", "")).removeprefix(PROBLEM_PREFIX)
        detail = str(problem.get("detail", answer.text))
        error = _ERRORS_BY_TYPE.get(kind)
        raise error(detail) if error else ServiceError(answer.status_code, kind or "unknown", detail)


@dataclass(frozen=True)
class LocalServer:
    """A `faceatlas serve` process on this machine: its URL, process id, and the file its output goes to."""

    url: str
    pid: int
    log: Path


@contextmanager
def local_server(log: Path, env: Mapping[str, str] | None = None, timeout: float = 120.0) -> Iterator[LocalServer]:
    """`faceatlas serve` started on a free loopback port with the environment `env` (default: this process's), its
    output written to `log`, yielded once /readyz answers 200 and stopped at the end. `ServiceError` (503, with the
    end of its log) when it exits or is not ready within `timeout` seconds."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with log.open("w") as output:  # a file, not a pipe: a pipe nobody reads blocks the server once full
        process = subprocess.Popen([sys.executable, "-m", "faceatlas.cli", "serve", "--port", str(port)],
                                   env=dict(env) if env is not None else None, stdout=output,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise ServiceError(503, "not-ready", f"the server at {url} did not become ready:\n"
                                                     f"{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield LocalServer(url, process.pid, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _collection(collection: str) -> str:
    return f"/v1/collections/{quote(collection, safe='')}"


def _person(collection: str, name: str) -> str:
    return f"{_collection(collection)}/people/{quote(name, safe='')}"


def _library(collection: str) -> str:
    return f"{_collection(collection)}/library"


def _as(kind: Any, body: Any) -> Any:
    """`body` (JSON) as the result type `kind` (a dataclass, or a list of one), validated."""
    return TypeAdapter(kind).validate_python(body)


def _file(image: str | Path | bytes) -> tuple[str, bytes]:
    if isinstance(image, bytes):
        return ("upload", image)
    path = Path(image)
    return (path.name, path.read_bytes())


def _verification(body: dict) -> Verification:
    fields = ("score", "same", "threshold", "fmr", "model", "min_quality")
    quality = tuple(body["quality"]) if body.get("quality") else None
    return Verification(**{k: body[k] for k in fields}, quality=quality,  # type: ignore[arg-type]
                        insufficient_quality=body["decision"] == "insufficient_quality",
                        licences=tuple(body.get("licences", ())))


_ERRORS_BY_TYPE = {problem_slug(error.__name__): error for error in ERRORS}
