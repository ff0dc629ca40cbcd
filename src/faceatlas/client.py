"""A small typed client of the HTTP API (`faceatlas serve`): the Python API's results, over the network.

    >>> from faceatlas.client import Client
    >>> api = Client("http://127.0.0.1:8000", key="fa_...")
    >>> api.analyze("group.jpg").boxes            # a Faces, as FaceAnalyzer.analyze returns
    >>> api.verify("a.jpg", "b.jpg", fmr=1e-4)     # a Verification
    >>> api.enroll("staff", "alice", ["a1.jpg"])   # an EnrollReport
    >>> api.identify("staff", "door.jpg")           # a list of Identification

An error answer is raised as the FaceAtlas error it names (`NoFaceError`, `GalleryNotFoundError`, ...), or as
`ServiceError` with the HTTP status for the API's own conditions (no key, a full queue).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from faceatlas.errors import ERRORS, FaceAtlasError, problem_slug
from faceatlas.gallery.results import Candidate, EnrollReport, Erasure, Identification, PersonSummary, Refusal
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
        return [PersonSummary(**row) for row in self._call("GET", f"/v1/collections/{collection}/people")]

    def enroll(self, collection: str, name: str, images: list[str | Path | bytes]) -> EnrollReport:
        body = self._call("POST", f"/v1/collections/{collection}/people/{name}/faces",
                          files=[("images", _file(image)) for image in images])
        return EnrollReport(body["subject"], body["added"], [Refusal(**r) for r in body["rejected"]])

    def identify(self, collection: str, image: str | Path | bytes, fpir: float | None = None,
                 fmr: float | None = None, top_k: int = 5) -> list[Identification]:
        params = {k: v for k, v in {"fpir": fpir, "fmr": fmr, "top_k": top_k}.items() if v is not None}
        rows = self._call("POST", f"/v1/collections/{collection}/identify", params=params,
                          files={"image": _file(image)})
        return [Identification(**{**row, "candidates": [Candidate(**c) for c in row["candidates"]]}) for row in rows]

    def verify_person(self, collection: str, name: str, image: str | Path | bytes, fmr: float = 1e-4
                      ) -> Verification:
        body = self._call("POST", f"/v1/collections/{collection}/people/{name}/verify", params={"fmr": fmr},
                          files={"image": _file(image)})
        return _verification(body)

    def erase(self, collection: str, name: str) -> Erasure:
        return Erasure(**self._call("DELETE", f"/v1/collections/{collection}/people/{name}"))

    def _call(self, method: str, path: str, **options: Any) -> Any:
        answer = self._http.request(method, path, **options)
        if answer.is_success:
            return answer.json()
        problem = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
        kind = str(problem.get("type", "")).removeprefix(PROBLEM_PREFIX)
        detail = str(problem.get("detail", answer.text))
        error = _ERRORS_BY_TYPE.get(kind)
        raise error(detail) if error else ServiceError(answer.status_code, kind or "unknown", detail)


def _file(image: str | Path | bytes) -> tuple[str, bytes]:
    if isinstance(image, bytes):
        return ("upload", image)
    path = Path(image)
    return (path.name, path.read_bytes())


def _verification(body: dict) -> Verification:
    fields = ("score", "same", "threshold", "fmr", "model", "min_quality")
    quality = tuple(body["quality"]) if body.get("quality") else None
    return Verification(**{k: body[k] for k in fields}, quality=quality,  # type: ignore[arg-type]
                        insufficient_quality=body["decision"] == "insufficient_quality")


_ERRORS_BY_TYPE = {problem_slug(error.__name__): error for error in ERRORS}
