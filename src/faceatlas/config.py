"""One settings schema shared by the Python API, the CLI and environment variables (`FACEATLAS_*`).

`get_settings()` reads the environment once per process; `faceatlas config` prints every setting, its value and
where the value came from.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "FACEATLAS_"


class Settings(BaseSettings):
    """Process-wide settings; every field can be set as `FACEATLAS_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    home: Path = Field(default_factory=lambda: Path.home() / ".faceatlas",
                       description="Where converted model weights, downloaded wheels and the default gallery live.")
    profile: str = Field(default="default", description="Analysis profile used when none is named.")
    recogniser: str | None = Field(default=None, description="Recogniser model id used instead of the profile's "
                                   "when no profile is named (e.g. one brought in by `faceatlas models import`).")
    threads: int = Field(default=0, ge=0, description="ONNX Runtime threads per analyzer; 0 lets it choose.")
    max_pixels: int = Field(default=100_000_000, gt=0,
                            description="Images with more pixels are refused (decompression-bomb guard).")
    max_file_bytes: int = Field(default=256_000_000, gt=0, description="Image files larger than this are refused "
                                "before they are read (a padded or runaway file).")
    frame_every: float = Field(default=2.0, gt=0, description="Seconds between the frames of a video analysed when "
                               "none is asked for (`library index --videos`).")
    workers: int = Field(default=0, ge=0, description="Processes `library index` analyses with; 0: one per core.")
    collection: str = Field(default="default", description="Gallery collection used when none is named.")
    min_quality: float = Field(default=0.5, ge=0, le=1, description="Enrolment refuses faces whose quality score "
                               "(the predicted chance of matching another photo of the person at FMR 1e-3) is lower.")
    erase_wait: float = Field(default=10.0, ge=0, description="Seconds an erasure waits for other connections "
                              "reading the gallery before it reports the bytes still pending.")
    gallery_url: str | None = Field(default=None, description="Gallery database: a SQLAlchemy URL or a SQLite file "
                                    "path; default: SQLite under FACEATLAS_HOME/gallery.")
    gallery_index: str = Field(default="auto", description="Gallery vector index: auto (exact up to 50k samples, "
                               "then pq), exact, pq, hnsw or milvus.")
    milvus_uri: str | None = Field(default=None, description="Milvus server (http://host:19530) or milvus-lite "
                                   "folder (*.db) for the milvus index; default: milvus.db beside the gallery.")
    max_upload_bytes: int = Field(default=32_000_000, gt=0, description="The HTTP API refuses request bodies larger "
                                  "than this (413), from their declared length or as they arrive.")
    serve_queue: int = Field(default=16, ge=0, description="Requests the HTTP API lets wait for the pipeline; "
                             "beyond them it answers 503 with Retry-After.")
    api_keys: Path | None = Field(default=None, description="The HTTP API's key file (hashes only); default: "
                                  "service/keys.json under FACEATLAS_HOME.")
    request_timeout: float = Field(default=60.0, gt=0, description="Seconds the HTTP API waits for a request's "
                                   "body and then for its result before answering 408 or 504.")
    batch_window_ms: float = Field(default=0.0, ge=0, description="Milliseconds the HTTP API waits for more "
                                   "requests' pictures before it analyses a batch (0: it takes those that gathered "
                                   "while it worked: faster here, see docs/results/serve-load.json).")
    serve_folders: list[Path] = Field(default_factory=list, description="Server-side folders (and their subfolders) "
                                      "the HTTP API may index into a photo library; none by default.")
    eval_results: Path | None = Field(default=None, description="A folder of `faceatlas eval` JSON results the HTTP "
                                      "API reports at /v1/reports (the web app's Admin page links to it).")
    accept_licences: list[str] = Field(default_factory=list, description="Restrictive model licences accepted "
                                       "for this process (JSON list, e.g. [\"insightface-non-commercial\"]); "
                                       "`faceatlas models accept-licence` records an acceptance instead.")
    keep_thumbnails_in: list[str] = Field(default_factory=list, description="Collections whose people keep a small "
                                          "face thumbnail of each photo enrolled over HTTP (none: nothing of an "
                                          "upload is stored).")

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def wheels_dir(self) -> Path:
        return self.home / "wheels"

    def origin(self, name: str) -> str:
        """Where the value of setting `name` came from: its environment variable, or the default."""
        variable = env_name(name)
        return f"environment ({variable})" if variable in os.environ else "default"


def env_name(name: str) -> str:
    """The environment variable of setting `name`."""
    return f"{ENV_PREFIX}{name.upper()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings read from the environment once per process (call `get_settings.cache_clear()` to re-read)."""
    return Settings()
