"""Shared test helpers: where the development data lives, and a skip marker when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ASTRONAUT = Path(__import__("skimage").data.__file__).parent / "astronaut.png"


def data_path(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test with a clear reason when it is not there."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"development data not available: {path} (see README, 'Development data')")
    return path
