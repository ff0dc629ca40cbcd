"""Request limits, enforced before the work: a body larger than `max_upload_bytes` is refused from its declared
length, or as soon as a body sent without one (read up to the limit before it is parsed) grows past it; at most
`waiting` analyses wait for a worker, the rest are answered 503 with Retry-After."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceatlas.service.problems import problem

T = TypeVar("T")


class BodyLimit:
    """ASGI middleware: 413 for a request body over `limit` bytes, decided before the body is parsed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.limit:
                await self._refuse(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        # no declared length (chunked): take the body up to the limit first, then hand it on
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, "BodyTooLarge", "Request body too large",
                           f"the body is larger than {self.limit:,} bytes (FACEATLAS_MAX_UPLOAD_BYTES)")
        await response(scope, receive, send)


class WorkQueue:
    """Runs blocking work (the pipeline) in worker threads, `workers` at a time; when `waiting` jobs already wait,
    a new one is refused at once (`QueueFull`) instead of growing the queue without bound."""

    def __init__(self, workers: int, waiting: int) -> None:
        self.limiter = anyio.CapacityLimiter(workers)
        self.capacity = workers + waiting
        self.active = 0

    async def run(self, job: Callable[[], T]) -> T:
        if self.active >= self.capacity:
            raise QueueFull(self.active)
        self.active += 1
        try:
            return await anyio.to_thread.run_sync(job, limiter=self.limiter)
        finally:
            self.active -= 1


class QueueFull(Exception):
    """More requests are waiting for the pipeline than the queue holds."""

