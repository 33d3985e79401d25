"""Where a study's wall time goes: named phases, each timed once, printed and stored."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

__all__ = ["TimeAccount", "stage_split"]

#: the current study's account (Tune stages report their split into it)
_current: list["TimeAccount"] = []


class TimeAccount:
    """Wall seconds per phase (``start-up``, ``data``, ``ray start``, each stage, ...), and
    each Tune stage split into trial start, useful work and Tune's bookkeeping."""

    def __init__(self, started: float | None = None) -> None:
        now = time.perf_counter()
        self.t0 = now if started is None else started
        self.phases: dict[str, float] = {}
        self.stages: list[dict[str, float | str]] = []
        if started is not None and now > started:
            self.phases["start-up (imports, config)"] = now - started
        _current[:] = [self]

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
        return [f"    {name:<28} {sec:8.1f} s  {100 * sec / total:5.1f} %" for name, sec in d.items() if name != "total"]


def stage_split(stage: str, wall: float, began: float, trials: list[tuple[float, float]],
                slots: int) -> dict[str, float | str]:
    """One Tune stage's wall seconds split four ways and recorded in the current account.

    ``began``: the stage's start (unix s); ``trials``: per trial ``(unix s its function
    began, seconds it ran)``. *useful* is the function time per slot (``slots`` trials at a
    time); *trial start* the wait until the first functions ran (Tuner set-up, trial actors
    starting: their processes import torch and this package); *idle slots* the time slots
    wait at the end with no trial left while the last trials finish; *bookkeeping* the rest
    (scheduling, result handling, state saving, stopping actors).
    """
    slots = max(1, min(slots, len(trials) or 1))
    useful = min(wall, sum(inside for _, inside in trials) / slots)
    firsts = sorted(start for start, _ in trials)[:slots]
    start = sum(max(0.0, f - began) for f in firsts) / len(firsts) if firsts else 0.0
    start = min(start, max(0.0, wall - useful))
    lasts = sorted(a + inside for a, inside in trials)[-slots:]
    idle = sum(lasts[-1] - f for f in lasts) / slots if lasts else 0.0
    idle = min(idle, max(0.0, wall - useful - start))
    split: dict[str, float | str] = {"stage": stage, "began": began, "wall": wall, "trials": len(trials),
                                     "useful": useful,
                                     "trial start": start, "idle slots": idle,
                                     "bookkeeping": max(0.0, wall - useful - start - idle)}
    if _current:
        _current[0].stages.append(split)
    return split
