"""Collections of enrolled people over HTTP: list, enrol by upload, identify, verify against a person, rename,
merge, move samples, erase with the erasure's proof. A key must hold the route's scope for the collection named in
the path; every change is written to the audit log with the key that made it."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, File, HTTPException, Path, Query, UploadFile
from fastapi.responses import Response

from faceatlas.gallery.collections import collection_names
from faceatlas.gallery.results import EnrollReport, Erasure, Identification, PersonRecord, PersonSummary
from faceatlas.service.auth import Caller, Collection, Enrolling, Erasing, Reading
from faceatlas.service.keys import ALL_COLLECTIONS
from faceatlas.service.schemas import IN_COLLECTION, MergeInto, Moved, MoveSamples, Rename, VerificationResult
from faceatlas.service.state import Service

Person = Annotated[str, Path(min_length=1, max_length=200, description="An enrolled person's name.")]
JPEG = {200: {"content": {"image/jpeg": {}}, "description": "A JPEG face thumbnail."}}


def router(service: Service) -> APIRouter:
    """The /v1/collections routes."""
    routes = APIRouter(prefix="/v1/collections", tags=["collections"], responses=IN_COLLECTION)
    galleries, queue = service.galleries, service.queue

    @routes.get("")
    async def collections(key: Caller) -> list[str]:
        """The collections of the store this key may touch."""
        names = await queue.run(lambda: collection_names(galleries.engine))
        return [n for n in names if ALL_COLLECTIONS in key.collections or n in key.collections]

    @routes.get("/{collection}/people")
    async def people(collection: Collection, _: Reading) -> list[PersonSummary]:
        """Everyone enrolled, with their number of samples."""
        return await queue.run(lambda: galleries.get(collection).people())

    @routes.get("/{collection}/people/{name}")
    async def person(collection: Collection, name: Person, _: Reading) -> PersonRecord:
        """One person and their samples: where each came from, its quality and box (never an embedding)."""
        return await queue.run(lambda: galleries.get(collection).show(name))

    @routes.get("/{collection}/samples/{sample}/thumbnail", responses=JPEG,
                response_class=Response)
    async def thumbnail(collection: Collection, sample: Annotated[int, Path(ge=0, lt=2**62)], _: Reading) -> Response:
        """The face thumbnail kept of a sample (only collections in FACEATLAS_KEEP_THUMBNAILS_IN keep one)."""
        jpeg = await queue.run(lambda: galleries.get(collection).thumbnail(sample))
        if jpeg is None:
            raise HTTPException(404, f"no thumbnail kept of sample {sample} in collection '{collection}'")
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    @routes.post("/{collection}/people/{name}/faces")
    async def enrol(collection: Collection, name: Person,
                    images: Annotated[list[UploadFile], File(description="Photos of this person.")],
                    key: Enrolling) -> EnrollReport:
        """Add the face of each photo to the person (created if new); refused photos come back with their reason.
        The photos are not stored."""
        data = [await image.read() for image in images]
        sources = [image.filename or f"upload {i}" for i, image in enumerate(images)]
        report = await queue.run(lambda: galleries.get(collection, create=True).enroll(name, data, sources=sources))
        service.record(key, "enrol", collection, person=name, added=len(report.added),
                       refused=len(report.rejected))
        return report

    @routes.patch("/{collection}/people/{name}")
    async def rename(collection: Collection, name: Person, change: Rename, key: Enrolling
                     ) -> PersonRecord:
        """Rename the person (refused if the new name is taken: merge instead)."""
        gallery = galleries.get(collection)
        await queue.run(lambda: gallery.rename(name, change.name))
        service.record(key, "rename", collection, person=name, to=change.name)
        return await queue.run(lambda: gallery.show(change.name))

    @routes.post("/{collection}/people/{name}/merge")
    async def merge(collection: Collection, name: Person, change: MergeInto, key: Enrolling
                    ) -> Moved:
        """The person is `into`: every sample moves there and this person is gone."""
        moved = await queue.run(lambda: galleries.get(collection).merge(name, change.into))
        service.record(key, "merge", collection, person=name, into=change.into, samples=moved)
        return Moved(moved=moved, into=change.into)

    @routes.post("/{collection}/people/{name}/samples/move")
    async def move(collection: Collection, name: Person, change: MoveSamples, key: Enrolling
                   ) -> Moved:
        """These samples (photos) of the person are someone else (created if new)."""
        moved = await queue.run(lambda: galleries.get(collection).move_samples(name, change.samples, change.to))
        service.record(key, "move", collection, person=name, into=change.to, samples=change.samples)
        return Moved(moved=moved, into=change.to)

    @routes.post("/{collection}/identify")
    async def identify(collection: Collection, image: Annotated[UploadFile, File()], _: Reading,
                       fpir: Annotated[float | None, Query(gt=0, lt=1)] = None,
                       fmr: Annotated[float | None, Query(gt=0, lt=1)] = None,
                       top_k: Annotated[int, Query(ge=1, le=100)] = 5) -> list[Identification]:
        """Every face of the photo: its best candidates and a decision at FPIR (default 1e-2) or per-comparison
        FMR, or "unknown" (null)."""
        # a missing collection is refused before the photo is analysed; opening one reads the database: off the loop
        gallery = galleries.already_open(collection)  # (a Gallery with nobody in it is falsy: `is None`, not `or`)
        if gallery is None:
            gallery = await anyio.to_thread.run_sync(galleries.get, collection)
        return await service.batcher.analyze(await image.read(), then=lambda faces: gallery.identify(
            faces, fmr=fmr, fpir=fpir, top_k=top_k))  # searched in the same worker call, right after the batch

    @routes.post("/{collection}/people/{name}/verify")
    async def verify(collection: Collection, name: Person, image: Annotated[UploadFile, File()], _: Reading,
                     fmr: Annotated[float, Query(gt=0, lt=1)] = 1e-4) -> VerificationResult:
        """Is the photo this person, decided at a calibrated false-match rate."""
        data = await image.read()
        result = await queue.run(lambda: galleries.get(collection).verify(data, name, fmr=fmr))
        return VerificationResult(**result.to_dict())

    @routes.delete("/{collection}/people/{name}")
    async def erase(collection: Collection, name: Person, key: Erasing) -> Erasure:
        """Erase the person: rows, vectors and index entries, with the proof that none of their bytes is left (409
        `erasure-pending-error` while another reader holds them)."""
        erased = await queue.run(lambda: galleries.get(collection).erase(name))
        service.record(key, "erase", collection, person=name, samples=erased.samples)
        return erased

    return routes
