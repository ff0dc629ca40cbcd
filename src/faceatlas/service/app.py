"""The FastAPI application: the pipeline behind versioned routes, loaded once per process, run off the event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
import numpy as np
from fastapi import FastAPI, File, HTTPException, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from starlette.formparsers import MultiPartParser

from faceatlas.attributes import ATTRIBUTE_HEADS
from faceatlas.config import get_settings
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.service import gallery_routes, library_routes, problems, report_routes, web
from faceatlas.service.auth import Analyzing
from faceatlas.service.batching import Batcher
from faceatlas.service.jobs import Jobs
from faceatlas.service.keys import KeyStore
from faceatlas.service.limits import BodyLimit, QueueFull, ResultTimeout, WorkQueue
from faceatlas.service.metrics import Metrics
from faceatlas.service.schemas import ERRORS, Analysis, Health, VerificationResult
from faceatlas.service.state import Galleries, Service
from faceatlas.version import __version__

Image = Annotated[UploadFile, File(description="An image file (JPEG, PNG, WebP, ...).")]
LICENCE_HEADER = "FaceAtlas-Licence"
"""Names the restrictive licences (accepted by the operator) of the models behind a response."""


def create_app(profile: str | None = None, threads: int | None = None) -> FastAPI:
    """The HTTP API over one `FaceAnalyzer` of `profile` (its models loaded at start-up); every /v1 route needs an
    API key of the `KeyStore` holding its scope."""
    settings = get_settings()
    store = KeyStore()
    analyzer = FaceAnalyzer(profile=profile, threads=threads)
    queue = WorkQueue(workers=1, waiting=settings.serve_queue, timeout=settings.request_timeout)
    service = Service(analyzer, Galleries(analyzer), queue, Batcher(analyzer, queue, settings.batch_window_ms / 1000),
                      Jobs(), store)
    ready = {"models": False}
    MultiPartParser.spool_max_size = settings.max_upload_bytes  # uploads stay in memory, never in a temporary file

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await queue.run(lambda: analyzer.analyze(np.zeros((64, 64, 3), np.uint8)))  # load every model now
        service.batcher.start()
        ready["models"] = True
        yield
        await service.batcher.stop()
        service.jobs.close()
        service.galleries.close()

    app = FastAPI(title="FaceAtlas", version=__version__, lifespan=lifespan,
                  description="Offline face detection, recognition and calibrated verification.")
    metrics = Metrics(queue, service.batcher)
    metrics.install(app)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes, timeout=settings.request_timeout)
    problems.install(app)
    if analyzer.licences:  # every response of a server whose profile runs restricted weights says so
        @app.middleware("http")
        async def licence_header(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            response = await call_next(request)
            named = response.headers.get(LICENCE_HEADER, "")  # a route may have named a head's licence too
            response.headers[LICENCE_HEADER] = ", ".join(sorted({*analyzer.licences, *filter(None,
                                                                                            named.split(", "))}))
            return response

    app.state.keys = store
    app.include_router(gallery_routes.router(service))
    app.include_router(library_routes.router(service))
    app.include_router(report_routes.router())

    @app.exception_handler(QueueFull)
    async def queue_full(_: Request, error: QueueFull) -> JSONResponse:
        return problems.problem(503, "QueueFull", "Busy", f"{error.args[0]} requests are already waiting; retry "
                                "shortly", {"Retry-After": "1"})

    @app.exception_handler(ResultTimeout)
    async def too_slow(_: Request, error: ResultTimeout) -> JSONResponse:
        return problems.problem(504, "ResultTimeout", "Timed out", f"the result was not ready within "
                                f"{error.args[0]:g} s (FACEATLAS_REQUEST_TIMEOUT)", {"Retry-After": "5"})

    @app.get("/healthz")
    async def healthz() -> Health:
        """The process is up."""
        return Health(status="ok")

    @app.get("/readyz", responses={503: {"model": Health, "description": "The models are still loading, or the "
                                                                      "store cannot be reached."}})
    async def readyz(response: Response) -> Health:
        """The models are loaded and the gallery database answers: requests will be served."""
        if not ready["models"]:
            response.status_code = 503
            return Health(status="loading", detail="models are loading")
        unreachable = await anyio.to_thread.run_sync(service.galleries.reachable)
        if unreachable:
            response.status_code = 503
            return Health(status="unavailable", detail=unreachable)
        return Health(status="ok")

    @app.post("/v1/analyze", responses=ERRORS)
    async def analyze(image: Image, _: Analyzing, response: Response,
                      embed: Annotated[bool, Query(description="Add identity embeddings.")] = False,
                      heads: Annotated[list[str], Query(description="Attribute heads to add: "
                                                        f"{', '.join(ATTRIBUTE_HEADS.names())}.")] = []  # noqa: B006
                      ) -> Analysis:
        """Every face of an image: boxes, scores, five landmarks, and on request embeddings and attributes (age and
        gender, expression, quality, the dense mesh). The upload is analysed in memory and never stored."""
        unknown = sorted(set(heads) - set(ATTRIBUTE_HEADS.names()))
        if unknown:
            raise HTTPException(422, f"no attribute head {', '.join(unknown)} (there are "
                                     f"{', '.join(ATTRIBUTE_HEADS.names())})")
        faces = await service.batcher.analyze(await image.read(), embed=embed, heads=tuple(heads))
        metrics.faces.inc(len(faces))
        if faces.licences:  # e.g. a head under a restrictive licence, asked for by this request
            response.headers[LICENCE_HEADER] = ", ".join(faces.licences)
        return Analysis(**{**faces.to_dict(), "source": image.filename})

    @app.post("/v1/verify", responses=ERRORS)
    async def verify(a: Image, b: Image, _: Analyzing,
                     fmr: Annotated[float, Query(gt=0, lt=1, description="The decision's false-match rate.")] = 1e-4,
                     min_quality: Annotated[float | None, Query(ge=0, le=1, description="Answer "
                                                                "'insufficient_quality' below this quality.")] = None,
                     ) -> VerificationResult:
        """Are the largest faces of two images the same person, decided at a calibrated false-match rate."""
        first, second = await a.read(), await b.read()
        result = await queue.run(lambda: analyzer.verify(first, second, fmr=fmr, min_quality=min_quality))
        return VerificationResult(**result.to_dict())

    web.install(app, store)  # last: its page and assets shadow no route
    return app
