"""Fixtures shared by the test modules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faceatlas.config import get_settings


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty FACEATLAS_HOME for one test (settings are re-read, then restored)."""
    home = tmp_path / "home"
    monkeypatch.setenv("FACEATLAS_HOME", str(home))
    get_settings.cache_clear()
    yield home
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def evaluation_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One per-image embedding cache for the whole test run (`eval.embedding`, keyed by the analyzer's models and
    their SHA-256): a development set is embedded once by a profile, however many tests evaluate it."""
    return tmp_path_factory.mktemp("evaluation-cache")
