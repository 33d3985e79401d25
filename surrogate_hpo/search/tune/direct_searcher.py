"""Direct search as a Tune ``Searcher``: one hyperparameter at a time.

Starting from ``start`` (default: every factor at its first level), the searcher takes the
factors in the given order. For the current factor it suggests one trial per level, the
other factors held at their best values so far; these trials are independent and run in
parallel. When all have finished, the factor is fixed at its best level (the current value
is kept on ties, or when every trial of the round failed) and the next factor follows.
``passes > 1`` goes through the order again. A configuration seen before (e.g. the current
best, which every round contains) is not trained again: its value is reused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ray.tune.search import Searcher

from ...study.resume import TableResumedSearcher
from ...util.atomic import write_json
from ..factors import Factor
from .objective import ConfigKey, config_key, objective


class DirectSearcher(TableResumedSearcher):
    """Coordinate-wise search over ``factors`` (metric and mode given here: Tune passes them
    only when the param space is non-empty)."""

    def __init__(self, factors: Sequence[Factor], *, metric: str, mode: str = "min",
                 start: Mapping[str, Any] | None = None, fixed: Mapping[str, Any] | None = None,
                 passes: int = 1, history_json: Path | None = None) -> None:
        super().__init__(metric=metric, mode=mode)
        if not factors:
            raise ValueError("direct search needs at least one factor")
        if passes < 1:
            raise ValueError(f"passes must be >= 1, got {passes}")
        self.factors = list(factors)
        self.fixed = dict(fixed or {})
        self.current: dict[str, Any] = {f.name: f.levels[0] for f in self.factors}
        for k, v in (start or {}).items():
            if k in self.current:
                self.current[k] = v
        self.passes = passes
        self.step = -1                      # index into factors * passes; -1 = not started
        self.queue: list[dict[str, Any]] = []
        self.round: list[tuple[Any, ConfigKey]] = []   # (level, key) of the current factor's round
        self.pending: dict[str, ConfigKey] = {}
        self.values: dict[ConfigKey, float | None] = {}
        self.history: list[dict[str, Any]] = []   # one entry per finished round
        self.history_json = history_json          # rounds are written here as they close

    # ----------------------------------------------------------------- state machine
    @property
    def n_steps(self) -> int:
        return len(self.factors) * self.passes

    @property
    def finished(self) -> bool:
        return self.step >= self.n_steps

    def _config(self, **change: Any) -> dict[str, Any]:
        return {**self.fixed, **self.current, **change}

    def _better(self, a: float, b: float) -> bool:
        return a < b if self.mode == "min" else a > b

    def _close_round(self) -> None:
        if self.step < 0:
            return
        factor = self.factors[self.step % len(self.factors)]
        best_level, best_value = self.current[factor.name], self.values.get(config_key(self._config()))
        for level, key in self.round:
            v = self.values.get(key)
            if v is not None and (best_value is None or self._better(v, best_value)):
                best_level, best_value = level, v
        self.history.append({"factor": factor.name, "values": {repr(lv): self.values.get(k) for lv, k in self.round},
                             "chosen": best_level, "best_value": best_value})
        self.current[factor.name] = best_level
        if self.history_json is not None:
            write_json(Path(self.history_json), {"rounds": self.history, "current": self.current})

    def _advance(self) -> None:
        """Close the finished round, open the next one that has something new to train."""
        while not self.queue and not self.pending and not self.finished:
            self._close_round()
            self.step += 1
            if self.finished:
                return
            factor = self.factors[self.step % len(self.factors)]
            self.round, self.queue, seen = [], [], set()
            for level in factor.levels:
                cfg = self._config(**{factor.name: level})
                key = config_key(cfg)
                self.round.append((level, key))
                if key not in self.values and key not in seen:
                    seen.add(key)
                    self.queue.append(cfg)

    # ----------------------------------------------------------------- Tune API
    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        self._advance()
        if self.finished and not self.pending:
            return Searcher.FINISHED
        if not self.queue:
            return None  # wait for the round to finish
        cfg = self.queue.pop(0)
        self.pending[trial_id] = config_key(cfg)
        return cfg

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        key = self.pending.pop(trial_id, None)
        if key is not None:
            self.values[key] = objective(result, self.metric, error)

    def best_config(self) -> dict[str, Any]:
        """The configuration the search settled on (valid once finished)."""
        return self._config()

    def max_trials(self) -> int:
        """Upper bound on the trials this search suggests (``num_samples`` for Tune)."""
        return sum(f.n_levels for f in self.factors) * self.passes


__all__ = ["DirectSearcher"]
