"""Request limits, enforced before the work: a body larger than `max_upload_bytes` is refused from its declared
length, or as soon as a body sent without one grows past it; a body that has not fully arrived within
`request_timeout` is refused (408: a slow client cannot hold a connection's memory for long); at most `waiting`
requests wait for the pipeline, the rest are answered 503 with Retry-After; a result not ready within
`request_timeout` is answered 504 (the work finishes in the background and still counts against the queue)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faceatlas.service.problems import problem

T = TypeVar("T")


class BodyLimit:
    """ASGI middleware: the whole request body is taken (up to `limit` bytes, within `timeout` seconds) before
    the application parses it: 413 beyond the limit, 408 beyond the time."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send, 413)
            return
        messages: list[Message] = []
        try:
            with anyio.fail_after(self.timeout):
                size = 0
                while True:
                    message = await receive()
                    messages.append(message)
                    size += len(message.get("body", b""))
                    if size > self.limit:
                        await self._refuse(scope, receive, send, 413)
                        return
                    if message["type"] != "http.request" or not message.get("more_body", False):
                        break
        except TimeoutError:
            await self._refuse(scope, receive, send, 408)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        if status == 413:
            response = problem(413, "BodyTooLarge", "Request body too large",
                               f"the body is larger than {self.limit:,} bytes (FACEATLAS_MAX_UPLOAD_BYTES)")
        else:
            response = problem(408, "BodyTimeout", "Request body too slow", f"the body did not arrive within "
                               f"{self.timeout:g} s (FACEATLAS_REQUEST_TIMEOUT)", {"Connection": "close"})
        await response(scope, receive, send)


class WorkQueue:
    """Runs blocking work (the pipeline, the gallery) in worker threads, `workers` at a time. A request is
    `admitted` while it waits or works; when `waiting` requests already wait beyond the workers, a new one is
    refused at once (`QueueFull`) instead of growing the queue without bound."""

    def __init__(self, workers: int, waiting: int, timeout: float) -> None:
        self.limiter = anyio.CapacityLimiter(workers)
        self.capacity = workers + waiting
        self.timeout = timeout
        self.active = 0

    async def execute(self, job: Callable[[], T]) -> T:
        """`job` in a worker thread, without admission (for work already admitted)."""
        return await anyio.to_thread.run_sync(job, limiter=self.limiter)

    async def run(self, job: Callable[[], T]) -> T:
        """`job` admitted and run in a worker thread; `ResultTimeout` if it is not done within the timeout (it
        keeps its place in the queue until it is)."""
        task = asyncio.ensure_future(self.execute(job))
        self.admit(task)
        return await within(task, self.timeout)

    def admit(self, work: asyncio.Future) -> None:
        """Count `work` (a request's pending result) against the queue until it is done; `QueueFull` if full."""
        if self.active >= self.capacity:
            work.cancel()
            raise QueueFull(self.active)
        self.active += 1
        work.add_done_callback(self._leave)

    def _leave(self, _: asyncio.Future) -> None:
        self.active -= 1


async def within(awaitable: asyncio.Future[T], timeout: float) -> T:
    """The result of `awaitable`, or `ResultTimeout` after `timeout` seconds (the work itself is not cancelled)."""
    try:
        return await asyncio.wait_for(asyncio.shield(awaitable), timeout)
    except TimeoutError:
        raise ResultTimeout(timeout) from None


class QueueFull(Exception):
    """More requests are waiting for the pipeline than the queue holds."""


class ResultTimeout(Exception):
    """A request's result was not ready within the request timeout."""
