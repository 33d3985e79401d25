"""Console progress a person can follow: trials done / total, best so far, time left."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from ray.tune import Callback


class ProgressPrinter(Callback):
    """Prints one line when a trial ends (at most every ``min_interval_s`` seconds).

    Args:
        stage: label of the stage, e.g. ``"naswot"``.
        total: number of trials the stage will run.
        best_of: ``f(result) -> (value, label) | None`` giving the trial's best value and a
            short description; the printer keeps the best according to ``mode``.
        mode: ``"max"`` or ``"min"``.
        unit: what a trial is, for the line (``"trials"``, ``"candidates"``).
        count_of: items a finished trial accounts for (e.g. candidates in a chunk).
        already: trials (and items) finished before this run (a resumed stage).
    """

    def __init__(
        self,
        stage: str,
        total: int,
        *,
        best_of: Callable[[dict[str, Any]], tuple[float, str] | None],
        mode: str = "max",
        unit: str = "trials",
        count_of: Callable[[dict[str, Any]], int] = lambda r: 1,
        total_items: int | None = None,
        min_interval_s: float = 2.0,
        stream: TextIO | None = None,
        tally_of: Callable[[dict[str, Any]], str | None] | None = None,
        total_is_bound: bool = False,
        already: int = 0,
    ) -> None:
        self.stage, self.total, self.mode, self.unit = stage, total, mode, unit
        self.best_of, self.count_of = best_of, count_of
        self.total_items = total_items if total_items is not None else total
        self.min_interval_s, self.stream = min_interval_s, stream
        self.tally_of, self.total_is_bound = tally_of, total_is_bound
        self.tally: dict[str, int] = {}
        self.done = self.items = already  # trials (items) a resumed stage had finished before
        self.failed = 0
        self.best: tuple[float, str] | None = None
        self.t0 = time.monotonic()
        self._last = 0.0

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best[0] if self.mode == "max" else value < self.best[0]

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        result = trial.last_result or {}
        self.done += 1
        self.items += int(self.count_of(result))
        label = self.tally_of(result) if self.tally_of is not None else None
        if label:
            self.tally[label] = self.tally.get(label, 0) + 1
        found = self.best_of(result)
        if found is not None and self._better(found[0]):
            self.best = found
        self._print(force=self.done >= self.total)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.done += 1
        self.failed += 1
        self._print(force=self.done >= self.total)

    def _print(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.min_interval_s:
            return
        self._last = now
        elapsed = now - self.t0
        frac = self.done / max(self.total, 1)
        left = f", ~{elapsed / frac - elapsed:.0f} s left" if 0 < frac < 1 and not self.total_is_bound else ""
        bound = "≤" if self.total_is_bound else ""
        what = f"{self.items}/{bound}{self.total_items} {self.unit}"
        if self.unit != "trials":
            what += f" ({self.done}/{bound}{self.total} trials)"
        best = f" | best {self.best[0]:.4g}: {self.best[1]}" if self.best else ""
        failed = f" | {self.failed} failed" if self.failed else ""
        tally = "".join(f" | {n} {label}" for label, n in sorted(self.tally.items()))
        line = f"[{self.stage}] {what}{best}{failed}{tally} | {elapsed:.0f} s{left}"
        print(line, file=self.stream or sys.stdout, flush=True)
