"""The NASWOT pruner as a Tune ``TrialScheduler``.

Every trial first reports the score of its untrained network (``naswot_score``; higher is
better). The scheduler stops the trial there, before any training, when the score is below
the threshold; otherwise the trial goes on to train.

The threshold is learned while the study runs, because for a new material nobody knows a
good value in advance: after ``warmup`` scores have been seen, it is the ``quantile`` of all
scores seen so far (0.5 = the median: roughly half of the later trials are pruned). A
fixed ``threshold`` replaces the learned one. A resumed study passes the decisions of its
trials table as ``history``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from ray.tune.schedulers import FIFOScheduler, TrialScheduler


class NaswotThresholdScheduler(FIFOScheduler):
    def __init__(self, *, score_key: str = "naswot_score", quantile: float = 0.5, warmup: int = 5,
                 threshold: float | None = None,
                 history: Iterable[tuple[str, float, float | None, bool]] = ()) -> None:
        super().__init__()
        if not 0.0 <= quantile <= 1.0:
            raise ValueError(f"quantile must lie in [0, 1], got {quantile}")
        if warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {warmup}")
        self.score_key, self.quantile, self.warmup, self.fixed_threshold = score_key, quantile, warmup, threshold
        self.scores: list[float] = []
        #: trial id -> {"naswot_score", "naswot_threshold", "pruned"}
        self.decisions: dict[str, dict[str, Any]] = {}
        self.remember(history)

    def threshold(self) -> float | None:
        """The threshold a new score is compared with now (None: still warming up)."""
        if self.fixed_threshold is not None:
            return float(self.fixed_threshold)
        finite = [s for s in self.scores if math.isfinite(s)]
        if len(finite) < max(self.warmup, 1):
            return None
        return float(np.quantile(finite, self.quantile))

    def remember(self, decisions: Iterable[tuple[str, float, float | None, bool]]) -> None:
        """Restore (trial id, score, threshold used, pruned) of trials that already finished."""
        for trial_id, score, thr, pruned in decisions:
            if trial_id in self.decisions or score is None or not math.isfinite(float(score)):
                continue
            self.scores.append(float(score))
            self.decisions[trial_id] = {"naswot_score": float(score), "naswot_threshold": thr, "pruned": bool(pruned)}

    def decide(self, trial_id: str, score: float) -> bool:
        """Record ``score`` of ``trial_id``; True when the trial is to be pruned."""
        if trial_id in self.decisions:  # a repeated report of the same trial
            return bool(self.decisions[trial_id]["pruned"])
        thr = self.threshold()
        pruned = thr is not None and (not math.isfinite(score) or score < thr)
        self.scores.append(float(score))
        self.decisions[trial_id] = {"naswot_score": float(score), "naswot_threshold": thr, "pruned": pruned}
        return pruned

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        if self.score_key not in result:
            return TrialScheduler.CONTINUE
        return TrialScheduler.STOP if self.decide(trial.trial_id, float(result[self.score_key])) \
            else TrialScheduler.CONTINUE

    def debug_string(self) -> str:
        thr = self.threshold()
        return (f"NASWOT threshold scheduler: {len(self.scores)} scores seen, threshold "
                f"{'warming up' if thr is None else f'{thr:.4g}'}, "
                f"{sum(d['pruned'] for d in self.decisions.values())} trials pruned")


__all__ = ["NaswotThresholdScheduler"]
