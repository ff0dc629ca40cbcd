"""One settings schema shared by the Python API, the CLI and environment variables (`FACEATLAS_*`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings; every field can be set as `FACEATLAS_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="FACEATLAS_")

    home: Path = Field(default_factory=lambda: Path.home() / ".faceatlas",
                       description="Where converted model weights and downloaded wheels are cached.")
    max_pixels: int = Field(default=100_000_000, gt=0,
                            description="Images with more pixels are refused (decompression-bomb guard).")
    threads: int = Field(default=0, ge=0, description="ONNX Runtime intra-op threads; 0 lets it choose.")
    profile: str = Field(default="default", description="Analysis profile used when none is named.")
    gallery_index: str = Field(default="auto", description="Gallery vector index: auto (exact up to 50k samples, "
                               "then pq), exact, pq, hnsw or milvus.")
    milvus_uri: str | None = Field(default=None, description="Milvus server (http://host:19530) or milvus-lite "
                                   "folder (*.db) for the milvus index; default: milvus.db beside the gallery.")

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def wheels_dir(self) -> Path:
        return self.home / "wheels"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings read from the environment once per process (call `get_settings.cache_clear()` to re-read)."""
    return Settings()
