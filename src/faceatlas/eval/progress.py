"""How eval runs report progress: a callback given a total returns the function that advances by one."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int], Callable[[], None]]
"""Called with a total, returns the callback to advance by one (the CLI's progress bar; tests pass nothing)."""


def quiet(total: int) -> Callable[[], None]:
    """A progress callback that shows nothing."""
    return lambda: None
