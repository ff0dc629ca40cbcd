"""Collections of enrolled people over HTTP: enrol by upload, list, identify, verify against a person, erase with
the erasure's proof. A key must hold the route's scope for the collection named in the path."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile

from faceatlas.gallery import Gallery
from faceatlas.gallery.results import EnrollReport, Erasure, Identification, PersonSummary
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.service.auth import require
from faceatlas.service.keys import ApiKey
from faceatlas.service.limits import WorkQueue
from faceatlas.service.schemas import VerificationResult

Collection = Annotated[str, Path(min_length=1, max_length=200, description="A collection of people.")]
Person = Annotated[str, Path(min_length=1, max_length=200, description="An enrolled person's name.")]


class Galleries:
    """One open `Gallery` per collection, sharing the server's analyzer; opened on first use."""

    def __init__(self, analyzer: FaceAnalyzer) -> None:
        self.analyzer = analyzer
        self._open: dict[str, Gallery] = {}
        self._lock = threading.Lock()

    def get(self, collection: str, create: bool = False) -> Gallery:
        with self._lock:
            if collection not in self._open:
                self._open[collection] = Gallery(collection=collection, analyzer=self.analyzer, create=create)
            return self._open[collection]


def router(identified: Callable[[Request], Awaitable[ApiKey]], galleries: Galleries, queue: WorkQueue) -> APIRouter:
    """The /v1/collections routes; `identified` is the dependency giving the caller's key."""
    routes = APIRouter(prefix="/v1/collections/{collection}", tags=["collections"])

    def allowed(scope: str) -> Any:
        async def check(collection: Collection, key: ApiKey = Depends(identified)) -> ApiKey:
            return require(key, scope, collection)

        return Depends(check)

    @routes.get("/people", dependencies=[allowed("identify")])
    async def people(collection: Collection) -> list[PersonSummary]:
        """Everyone enrolled, with their number of samples."""
        return await queue.run(lambda: galleries.get(collection).people())

    @routes.post("/people/{name}/faces", dependencies=[allowed("enrol")])
    async def enrol(collection: Collection, name: Person,
                    images: Annotated[list[UploadFile], File(description="Photos of this person.")]) -> EnrollReport:
        """Add the face of each photo to the person (created if new); refused photos come back with their reason.
        The photos are not stored."""
        data = [await image.read() for image in images]
        sources = [image.filename or f"upload {i}" for i, image in enumerate(images)]
        return await queue.run(lambda: galleries.get(collection, create=True).enroll(name, data, sources=sources))

    @routes.post("/identify", dependencies=[allowed("identify")])
    async def identify(collection: Collection, image: Annotated[UploadFile, File()],
                       fpir: Annotated[float | None, Query(gt=0, lt=1)] = None,
                       fmr: Annotated[float | None, Query(gt=0, lt=1)] = None,
                       top_k: Annotated[int, Query(ge=1, le=100)] = 5) -> list[Identification]:
        """Every face of the photo: its best candidates and a decision at FPIR (default 1e-2) or per-comparison
        FMR, or "unknown" (null)."""
        data = await image.read()
        return await queue.run(lambda: galleries.get(collection).identify(data, fmr=fmr, fpir=fpir, top_k=top_k))

    @routes.post("/people/{name}/verify", dependencies=[allowed("identify")])
    async def verify(collection: Collection, name: Person, image: Annotated[UploadFile, File()],
                     fmr: Annotated[float, Query(gt=0, lt=1)] = 1e-4) -> VerificationResult:
        """Is the photo this person, decided at a calibrated false-match rate."""
        data = await image.read()
        result = await queue.run(lambda: galleries.get(collection).verify(data, name, fmr=fmr))
        return VerificationResult(**result.to_dict())

    @routes.delete("/people/{name}", dependencies=[allowed("erase")])
    async def erase(collection: Collection, name: Person) -> Erasure:
        """Erase the person: rows, vectors and index entries, with the proof that none of their bytes is left (409
        `erasure-pending-error` while another reader holds them)."""
        return await queue.run(lambda: galleries.get(collection).erase(name))

    return routes

