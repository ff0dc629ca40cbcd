"""What every route of one server process shares: its analyzer, the open collections, the work queue and batcher,
the jobs, the keys and the audit log."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from faceatlas.config import get_settings
from faceatlas.errors import FaceAtlasError
from faceatlas.gallery import Gallery
from faceatlas.gallery.store import open_engine
from faceatlas.organize.library import Library
from faceatlas.pipeline import FaceAnalyzer
from faceatlas.service.batching import Batcher
from faceatlas.service.jobs import Jobs
from faceatlas.service.keys import ApiKey, KeyStore
from faceatlas.service.limits import WorkQueue


class Galleries:
    """One open `Gallery` (and photo `Library` over it) per collection, sharing the server's analyzer; opened on
    first use. Only collections named in `keep_thumbnails_in` keep anything of an upload (a face thumbnail)."""

    def __init__(self, analyzer: FaceAnalyzer) -> None:
        self.analyzer = analyzer
        self._open: dict[str, Gallery] = {}
        self._libraries: dict[str, Library] = {}
        self._lock = threading.Lock()

    @cached_property
    def engine(self) -> Engine:
        """The server's gallery database (FACEATLAS_GALLERY_URL), as every `Gallery` here opens it."""
        return open_engine(get_settings().gallery_url)

    def reachable(self) -> str | None:
        """Why the database cannot be reached now, or None."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, FaceAtlasError) as error:
            return f"the gallery database cannot be reached ({type(error).__name__})"
        return None

    def already_open(self, collection: str) -> Gallery | None:
        """The collection's `Gallery` if this process has opened it (no database read), else None."""
        return self._open.get(collection)

    def get(self, collection: str, create: bool = False) -> Gallery:
        with self._lock:
            if collection not in self._open:
                self._open[collection] = self.opened(collection, create)
            return self._open[collection]

    def opened(self, collection: str, create: bool = False) -> Gallery:
        """A new `Gallery` object on the collection (for work in another thread: a job)."""
        keep = collection in get_settings().keep_thumbnails_in
        return Gallery(collection=collection, analyzer=self.analyzer, create=create, keep_thumbnails=keep)

    def library(self, collection: str) -> Library:
        gallery = self.get(collection)
        with self._lock:
            if collection not in self._libraries:
                self._libraries[collection] = Library(gallery=gallery)
            return self._libraries[collection]

    def close(self) -> None:
        with self._lock:
            for gallery in self._open.values():
                gallery.close()
            self._open.clear()
            self._libraries.clear()


@dataclass
class Service:
    analyzer: FaceAnalyzer
    galleries: Galleries
    queue: WorkQueue
    batcher: Batcher
    jobs: Jobs
    keys: KeyStore

    def record(self, key: ApiKey, event: str, collection: str, **what: object) -> None:
        """An audited change made with `key` (see `audit`)."""
        self.keys.audit.record(event, key.id, key.name, collection=collection, **what)
