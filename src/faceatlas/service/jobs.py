"""Long work over HTTP (indexing a server-side folder into a photo library): started as a job that runs one at a
time in the background, its progress read by polling or streamed as Server-Sent Events."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from faceatlas.errors import FaceAtlasError
from faceatlas.results import Result

JobState = Literal["queued", "running", "done", "failed"]
KEPT_JOBS = 100
"""Finished jobs remembered (the oldest are forgotten first)."""


@dataclass
class Job(Result):
    """One piece of long work: `done` of `total` steps, then its `result` or its `error` (a problem's type and
    detail)."""

    id: str
    kind: str
    collection: str
    state: JobState = "queued"
    done: int = 0
    total: int = 0
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None


class Jobs:
    """The server's jobs: run one at a time, in order, in a background thread."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._versions: dict[str, int] = {}  # bumped on every change of a job: what its event stream waits on
        self._lock = threading.Lock()
        self._runner = ThreadPoolExecutor(1, thread_name_prefix="faceatlas-job")

    def start(self, kind: str, collection: str, work: Callable[[Callable[[int, int], None]], Result]) -> Job:
        """Queue `work(progress)`; its result (a `Result`) or its error ends the job."""
        job = Job(id=secrets.token_hex(8), kind=kind, collection=collection)
        with self._lock:
            finished = [j for j in self._jobs.values() if j.state in ("done", "failed")]
            for old in finished[:max(0, len(finished) - KEPT_JOBS + 1)]:
                del self._jobs[old.id], self._versions[old.id]
            self._jobs[job.id] = job
            self._versions[job.id] = 0
        self._runner.submit(self._run, job, work)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def _run(self, job: Job, work: Callable[[Callable[[int, int], None]], Result]) -> None:
        def progress(done: int, total: int) -> None:
            self._update(job, done=done, total=total)

        self._update(job, state="running")
        try:
            result = work(progress).to_dict()
        except FaceAtlasError as error:
            self._update(job, state="failed", error={"type": type(error).__name__, "detail": str(error)})
        except Exception as error:  # a job's failure is its answer, never the server's end
            self._update(job, state="failed", error={"type": "InternalError", "detail": type(error).__name__})
        else:
            self._update(job, state="done", result=result)

    def _update(self, job: Job, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)
            self._versions[job.id] += 1

    async def events(self, job: Job, poll: float = 0.2) -> AsyncIterator[dict[str, str]]:
        """Server-Sent Events: a `progress` event whenever the job changes, then one `done` or `failed` event."""
        seen = -1
        while True:
            if self._versions.get(job.id, seen) != seen:
                seen = self._versions[job.id]
                finished = job.state in ("done", "failed")
                yield {"event": job.state if finished else "progress", "data": json.dumps(job.to_dict())}
                if finished:
                    return
            await anyio.sleep(poll)

    def close(self) -> None:
        self._runner.shutdown(wait=False, cancel_futures=True)
