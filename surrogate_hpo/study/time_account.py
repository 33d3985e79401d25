"""Where a study's wall time goes: named phases, each timed once, printed and stored."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

__all__ = ["TimeAccount"]


class TimeAccount:
    """Wall seconds per phase (``start-up``, ``data``, ``ray start``, each stage, ...)."""

    def __init__(self, started: float | None = None) -> None:
        self.t0 = time.perf_counter() if started is None else started
        self.phases: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t)

    def add(self, name: str, seconds: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + float(seconds)

    @property
    def wall_seconds(self) -> float:
        return time.perf_counter() - self.t0

    def to_dict(self) -> dict[str, float]:
        """Phases plus ``other`` (what no phase covers) and ``total``."""
        total = self.wall_seconds
        return {**self.phases, "other": max(0.0, total - sum(self.phases.values())), "total": total}

    def lines(self) -> list[str]:
        d = self.to_dict()
        total = d["total"] or 1.0
        return [f"    {name:<22} {sec:8.1f} s  {100 * sec / total:5.1f} %" for name, sec in d.items() if name != "total"]
