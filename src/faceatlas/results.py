"""`Result`: the base of the typed results public methods return (attributes, `to_dict()` for JSON)."""

from __future__ import annotations

import warnings
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

import numpy as np


class Result:
    """A dataclass result: read its attributes; `to_dict()` gives plain JSON-ready data.

    Results used to be plain dicts: reading one by key (`report["samples"]`) still works and warns that it is
    deprecated.
    """

    def to_dict(self) -> dict[str, Any]:
        assert is_dataclass(self)
        return plain(asdict(self))

    def __getitem__(self, key: str) -> Any:
        warnings.warn(f"reading a {type(self).__name__} by key is deprecated; use its attribute .{key} (or "
                      f".to_dict())", DeprecationWarning, stacklevel=2)
        return self.to_dict()[key]


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
