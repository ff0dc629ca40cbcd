"""Prometheus metrics of one server process (`GET /metrics`): requests by route, method and status, their latency,
the requests waiting for or in the pipeline, and the faces analysed. Counts only: no image, name or key."""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceatlas.service.batching import Batcher
from faceatlas.service.limits import WorkQueue


class Metrics:
    def __init__(self, queue: WorkQueue, batcher: Batcher) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("faceatlas_http_requests", "HTTP requests answered", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("faceatlas_http_request_seconds", "Time to answer an HTTP request", ["route"],
                                 registry=self.registry,
                                 buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.faces = Counter("faceatlas_faces", "Faces found in analysed images", registry=self.registry)
        queued = Gauge("faceatlas_queue_depth", "Requests waiting for or in the pipeline", registry=self.registry)
        queued.set_function(lambda: queue.active)
        batches = Gauge("faceatlas_batches", "Pipeline runs of batched uploads so far", registry=self.registry)
        batches.set_function(lambda: batcher.batches)
        pictures = Gauge("faceatlas_batched_pictures", "Uploads analysed in those runs", registry=self.registry)
        pictures.set_function(lambda: batcher.pictures)

    def install(self, app: FastAPI) -> None:
        app.add_middleware(_Measured, metrics=self)

        @app.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _Measured:
    """ASGI middleware counting every HTTP answer by route, method and status, and timing it (a plain ASGI layer:
    Starlette's `BaseHTTPMiddleware` cost a request about 0.7 ms more)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), ["500"]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route, scope["method"], status[0]).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
