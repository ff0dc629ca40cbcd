"""Dynamic micro-batching: pictures of concurrent requests are analysed together, one `FaceAnalyzer.shots` run per
batch (one recogniser run for all their faces). A batch is whatever waits when the worker is free (while it works,
requests gather), plus what arrives within `window` seconds of its first picture, up to `size` pictures. A request
may carry a follow-up (`then`: a gallery search of its faces) run in the same worker call, right after the batch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faceatlas.pipeline import BATCH_PICTURES, FaceAnalyzer
from faceatlas.service.limits import WorkQueue, within
from faceatlas.types import Faces, SubjectRule


@dataclass
class _Request:
    data: bytes
    embed: bool
    subject: SubjectRule | None
    heads: tuple[str, ...]
    then: Callable[[Faces], Any] | None
    result: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Batcher:
    """Analyses uploaded pictures for requests, batched; started and stopped with the application."""

    def __init__(self, analyzer: FaceAnalyzer, queue: WorkQueue, window: float, size: int = BATCH_PICTURES) -> None:
        self.analyzer = analyzer
        self.queue = queue
        self.window = window
        self.size = size
        self.batches = 0
        self.pictures = 0
        self._with_heads: dict[tuple[str, ...], FaceAnalyzer] = {(): analyzer}  # sharing the loaded models
        self._waiting: asyncio.Queue[_Request] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._serve())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def analyze(self, data: bytes, embed: bool = True, subject: SubjectRule | None = None,
                      heads: tuple[str, ...] = (), then: Callable[[Faces], Any] | None = None) -> Any:
        """The faces of one uploaded picture, with the columns of these attribute `heads` (their models loaded on
        first use), or what `then` makes of them; its error raised, as `FaceAnalyzer.analyze` would."""
        request = _Request(data, embed, subject, tuple(sorted(set(heads))), then)
        self.queue.admit(request.result)
        await self._waiting.put(request)
        return await within(request.result, self.queue.timeout)

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._waiting.get()]
            deadline = loop.time() + self.window
            while len(batch) < self.size:
                if self._waiting.empty():
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        batch.append(await asyncio.wait_for(self._waiting.get(), remaining))
                    except TimeoutError:
                        break
                else:
                    batch.append(self._waiting.get_nowait())
            await self._run([r for r in batch if not r.result.done()])

    async def _run(self, batch: list[_Request]) -> None:
        """One pipeline run per kind of request in the batch (with or without embeddings, subject rule, heads)."""
        kinds: dict[tuple, list[_Request]] = {}
        for request in batch:
            kinds.setdefault((request.embed, request.subject, request.heads), []).append(request)
        for (embed, subject, heads), requests in kinds.items():
            if heads not in self._with_heads:
                self._with_heads[heads] = self.analyzer.with_heads(*heads)
            try:
                outcomes = await self.queue.execute(lambda r=requests, e=embed, s=subject, a=self._with_heads[heads]:
                                                    _outcomes(a, r, e, s))
            except Exception as error:  # a model that cannot run fails every request of the batch
                outcomes = [error] * len(requests)
            self.batches += 1
            self.pictures += len(requests)
            for request, outcome in zip(requests, outcomes, strict=True):
                if request.result.done():
                    continue
                if isinstance(outcome, BaseException):
                    request.result.set_exception(outcome)
                else:
                    request.result.set_result(outcome)


def _outcomes(analyzer: FaceAnalyzer, requests: list[_Request], embed: bool, subject: SubjectRule | None
              ) -> list[Any]:
    """In the worker: each request's faces (or its follow-up's result), or the error it meets."""
    outcomes: list[Any] = []
    for request, shot in zip(requests, analyzer.shots([r.data for r in requests], embed=embed, subject=subject,
                                                      folders=False), strict=True):
        if shot.error is not None:
            outcomes.append(shot.error)
            continue
        try:
            outcomes.append(request.then(shot.faces) if request.then else shot.faces)
        except Exception as error:  # this request's answer, not the batch's
            outcomes.append(error)
    return outcomes
