"""Registries: names mapped to the classes that implement them, imported only when first asked for.

Each task package declares its own implementations (`DETECTORS.declare("yunet", "faceatlas.detect.yunet:YuNet...")`);
a user's code adds one with `@DETECTORS.register("name")`, and an installed package through the entry-point group the
registry names (e.g. `[project.entry-points."faceatlas.detectors"] myface = "mypkg.detector:MyDetector"`). No
if/elif chains, and no module is imported before it is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> implementations of one kind (detectors, recognisers, attribute heads, ...)."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind = kind
        self.group = group  # the entry-point group installed packages add to
        self._declared: dict[str, str] = {}  # name -> "module:attribute", imported on first use
        self._loaded: dict[str, T] = {}
        self._entry_points_read = False

    def declare(self, name: str, target: str) -> None:
        """A built-in implementation at `"module:attribute"`, imported when first asked for."""
        self._declared[name] = target

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator adding an implementation under `name` (a user's own, or one replacing a built-in)."""

        def add(implementation: T) -> T:
            self._loaded[name] = implementation
            return implementation

        return add

    def get(self, name: str) -> T:
        """The implementation registered as `name`; `ValueError` naming the known ones otherwise."""
        if name not in self._loaded and name not in self._declared:
            self._read_entry_points()
        if name in self._loaded:
            return self._loaded[name]
        if name not in self._declared:
            raise ValueError(f"unknown {self.kind} '{name}' (known: {', '.join(self.names())})")
        module, _, attribute = self._declared[name].partition(":")
        implementation = getattr(import_module(module), attribute)
        self._loaded[name] = implementation
        return implementation

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        self._read_entry_points()
        return sorted(set(self._declared) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        from importlib.metadata import entry_points  # read once, on the first lookup that needs more than declared

        for point in entry_points(group=self.group):
            self._declared.setdefault(point.name, point.value)
