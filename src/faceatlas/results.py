"""`Result`: the base of the typed results public methods return (attributes, `to_dict()` for JSON)."""

from __future__ import annotations

import warnings
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

import numpy as np


class Result:
    """A dataclass result: read its attributes; `to_dict()` gives plain JSON-ready data.

    Results used to be plain dicts: reading one by key (`report["samples"]`, `"samples" in report`,
    `report.get("samples")`) still works and warns that it is deprecated.
    """

    def to_dict(self) -> dict[str, Any]:
        assert is_dataclass(self)
        return plain(asdict(self))

    def legacy(self) -> dict[str, Any]:
        """The dict this result used to be (for the deprecated key access)."""
        return self.to_dict()

    def __getitem__(self, key: str) -> Any:
        _warn(self, key)
        return self.legacy()[key]

    def __contains__(self, key: object) -> bool:
        _warn(self, str(key))
        return key in self.legacy()

    def get(self, key: str, default: Any = None) -> Any:
        _warn(self, key)
        return self.legacy().get(key, default)

    def keys(self) -> Any:
        _warn(self, "keys()")
        return self.legacy().keys()


def _warn(result: Result, key: str) -> None:
    warnings.warn(f"reading a {type(result).__name__} by key is deprecated; use its attributes (.{key}) or "
                  f".to_dict()", DeprecationWarning, stacklevel=3)


def plain(value: Any) -> Any:
    """`value` with NumPy scalars and arrays, tuples and datetimes made JSON-ready."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def below(value: float, gate: float) -> str:
    """"0.2998 below the gate 0.3": `value` printed with as many decimals as it takes to differ from `gate` (from 3),
    never rounded onto it."""
    digits = 3
    while digits < 9 and f"{value:.{digits}f}" == f"{gate:.{digits}f}":
        digits += 1
    return f"{value:.{digits}f} below the gate {gate:g}"
