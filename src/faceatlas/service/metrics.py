"""Prometheus metrics of one server process (`GET /metrics`): requests by route, method and status, their latency,
the requests waiting for or in the pipeline, and the faces analysed. Counts only: no image, name or key."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

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
        @app.middleware("http")
        async def measure(request: Request, call_next):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            response = await call_next(request)
            route = getattr(request.scope.get("route"), "path", "unmatched")
            self.requests.labels(route, request.method, str(response.status_code)).inc()
            self.latency.labels(route).observe(time.perf_counter() - started)
            return response

        @app.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
