"""A collection's photo library over HTTP: its people and clusters, the review question and its answers (and taking
one back), naming and merging clusters, the photos of a person, and indexing a server-side folder as a job whose
progress streams as Server-Sent Events. Only folders inside FACEATLAS_SERVE_FOLDERS can be indexed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.responses import Response
from sse_starlette import EventSourceResponse

from faceatlas.config import get_settings
from faceatlas.organize.library import Library
from faceatlas.organize.results import Answer, ClusterSummary, Naming, PhotoMatch, ReviewItem
from faceatlas.service.auth import Caller, Collection, Enrolling, Reading
from faceatlas.service.gallery_routes import JPEG
from faceatlas.service.jobs import Job
from faceatlas.service.keys import ApiKey
from faceatlas.service.schemas import IN_COLLECTION, ClusterMerge, ClusterName, IndexFolder, ReviewReply, TakenBack
from faceatlas.service.state import Service

Cluster = Annotated[int, Path(ge=0, lt=2**62, description="A cluster number (see people).")]
Face = Annotated[int, Path(ge=0, lt=2**62, description="A library face id.")]
JobId = Annotated[str, Path(min_length=1, max_length=64, description="A job's id.")]


def served_folder(folder: str) -> FilePath:
    """`folder` resolved, if it lies inside one of FACEATLAS_SERVE_FOLDERS (links resolved first); 403 otherwise."""
    roots = [root.expanduser().resolve() for root in get_settings().serve_folders]
    if not roots:
        raise HTTPException(403, "this server indexes no server-side folder (set FACEATLAS_SERVE_FOLDERS)")
    if "\x00" in folder:
        raise HTTPException(422, "a folder name cannot hold a NUL character")
    try:
        resolved = FilePath(folder).expanduser().resolve()
    except (RuntimeError, OSError) as error:  # ~user of no user, a path the system cannot resolve
        raise HTTPException(422, f"{folder}: not a folder this server can resolve ({error})") from None
    if not any(resolved.is_relative_to(root) for root in roots):
        raise HTTPException(403, f"{folder}: not inside a folder this server may index (FACEATLAS_SERVE_FOLDERS)")
    return resolved


def router(service: Service) -> APIRouter:
    routes = APIRouter(tags=["library"], responses=IN_COLLECTION)
    library, queue, jobs = service.galleries.library, service.queue, service.jobs
    base = "/v1/collections/{collection}/library"

    @routes.get(f"{base}/people")
    async def people(collection: Collection, _: Reading, named: bool | None = None,
                     limit: Annotated[int | None, Query(ge=1, le=10_000)] = None) -> list[ClusterSummary]:
        """Named people, then unnamed clusters, biggest first, each with its best face."""
        return await queue.run(lambda: library(collection).people(limit, named))

    @routes.get(f"{base}/faces/{{face}}/thumbnail", responses=JPEG, response_class=Response)
    async def thumbnail(collection: Collection, face: Face, _: Reading) -> Response:
        """A face's thumbnail: the one kept, else cut from its photo on the server."""
        jpeg = await queue.run(lambda: library(collection).thumbnail(face))
        if jpeg is None:
            raise HTTPException(404, f"no picture of face {face} in collection '{collection}' is at hand")
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    @routes.get(f"{base}/photos")
    async def photos(collection: Collection, person: str, _: Reading) -> list[PhotoMatch]:
        """Where a person appears: one row per face and path."""
        return await queue.run(lambda: library(collection).photos(person=person))

    @routes.get(f"{base}/review")
    async def review(collection: Collection, _: Reading,
                     limit: Annotated[int | None, Query(ge=1, le=10_000)] = None) -> list[ReviewItem]:
        """The review queue: unnamed clusters that may be a named person, biggest first."""
        return await queue.run(lambda: library(collection).review(limit))

    @routes.post(f"{base}/review/answers")
    async def answer(collection: Collection, reply: ReviewReply, key: Enrolling) -> Answer:
        """Answer a question of the queue: yes, no, skip or the right name (409 when it is no longer asked)."""
        def answered() -> Answer:
            items = [i for i in library(collection).review() if (i.cluster, i.subject_id) == (reply.cluster,
                                                                                                reply.subject_id)]
            if not items:
                raise HTTPException(409, f"cluster {reply.cluster} is no longer asked about that person")
            return library(collection).answer(items[0], reply.reply)

        result = await queue.run(answered)
        service.record(key, "review answer", collection, cluster=reply.cluster, verdict=result.verdict,
                       person=result.name)
        return result

    @routes.post(f"{base}/review/undo")
    async def undo(collection: Collection, answered: TakenBack, key: Enrolling) -> Answer:
        """Take back an answer (as the answer returned it): a "no" is forgotten, a naming undone."""
        taken_back = Answer(**answered.model_dump())
        await queue.run(lambda: library(collection).reviewing.undo(taken_back))
        service.record(key, "review undo", collection, cluster=taken_back.cluster, verdict=taken_back.verdict,
                       person=taken_back.name)
        return taken_back

    @routes.post(f"{base}/clusters/{{cluster}}/name")
    async def name(collection: Collection, cluster: Cluster, change: ClusterName, key: Enrolling) -> Naming:
        """The cluster is this person (joined to their cluster if they have one)."""
        named = await queue.run(lambda: library(collection).name(cluster, change.name))
        service.record(key, "name cluster", collection, cluster=cluster, person=change.name)
        return named

    @routes.post(f"{base}/clusters/{{cluster}}/merge")
    async def merge(collection: Collection, cluster: Cluster, change: ClusterMerge, key: Enrolling) -> Naming:
        """The cluster and `other` are one person."""
        merged = await queue.run(lambda: library(collection).merge(cluster, change.other))
        service.record(key, "merge clusters", collection, cluster=cluster, other=change.other)
        return merged

    @routes.post(f"{base}/index", status_code=202)
    async def index(collection: Collection, request: IndexFolder, key: Enrolling) -> Job:
        """Index a server-side folder into the library as a job (see /v1/jobs/{id} and its events)."""
        folder = served_folder(request.folder)

        def work(progress: Callable[[int, int], None]) -> Any:
            gallery = service.galleries.opened(collection, create=True)
            try:
                return Library(gallery=gallery).index([folder], progress=progress, videos=request.videos)
            finally:
                gallery.close()

        service.record(key, "index", collection, folder=str(folder))
        return jobs.start("index", collection, work)

    def job_for(job_id: str, key: ApiKey) -> Job:
        job = jobs.get(job_id)
        if job is None or not key.allows("identify", job.collection):  # another collection's job: not found
            raise HTTPException(404, f"no job {job_id}")
        return job

    @routes.get("/v1/jobs/{job_id}", tags=["jobs"])
    async def job(job_id: JobId, key: Caller) -> Job:
        """A job's state and progress, then its result or error."""
        return job_for(job_id, key)

    @routes.get("/v1/jobs/{job_id}/events", tags=["jobs"], response_class=EventSourceResponse,
                responses={200: {"content": {"text/event-stream": {}}, "description": "progress, then done or "
                                 "failed; each event's data is the job."}})
    async def events(job_id: JobId, key: Caller) -> EventSourceResponse:
        """The job's progress as Server-Sent Events, ending with a `done` or `failed` event."""
        return EventSourceResponse(jobs.events(job_for(job_id, key)), ping=15)

    return routes
