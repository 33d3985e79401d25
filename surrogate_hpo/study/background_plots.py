"""A study's plots, drawn one at a time on a background thread while the study goes on.

Matplotlib is used from that thread only (its font and text caches are not thread-safe);
:func:`finish_plots` waits for every plot before the summary is written.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["draw_later", "finish_plots"]

_executor: list[ThreadPoolExecutor] = []
_pending: list[tuple[Path, Future]] = []


def draw_later(plot: Callable[..., Path], path: Path, *args: Any, **kwargs: Any) -> Path:
    """``plot(*args, path, **kwargs)`` on the plot thread; ``path`` now (the PNG appears later)."""
    if not _executor:
        _executor.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="plots"))
    _pending.append((Path(path), _executor[0].submit(plot, *args, path, **kwargs)))
    return Path(path)


def finish_plots() -> list[str]:
    """Wait for every plot asked for; a warning per plot that failed (a plot never stops a study)."""
    warnings = []
    while _pending:
        path, future = _pending.pop(0)
        error = future.exception()
        if error is not None:
            warnings.append(f"plot {path.name} was not written ({type(error).__name__}: {error})")
    return warnings
