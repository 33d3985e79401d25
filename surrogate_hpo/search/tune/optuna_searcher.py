"""Optuna's TPE as a Tune ``Searcher``, through Optuna's ask-and-tell interface.

* Each trial's parameters come from ``study.ask(distributions)``; its final value is told
  with ``study.tell``: a finite objective -> COMPLETE, a trial stopped before it had one
  (pruned by its NASWOT score) -> PRUNED, ``diverged=True`` or an error -> FAIL (TPE does
  not learn from it). Intermediate results are not forwarded: pruning is a Tune
  scheduler's job here.
* The sampler of trial ``n`` is a TPE sampler seeded with ``seed + n``: the suggestion
  depends only on the trials before it, so a study resumed from its trials table
  (``history``, added with ``study.add_trial``) suggests what the uninterrupted study would
  have (exactly so when trials run one at a time).
* With ``export_csv`` Optuna's own trials table is written after every finished trial.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, TPESampler
from optuna.trial import FrozenTrial, TrialState, create_trial

from ...study.resume import TableResumedSearcher
from ...util.atomic import atomic_write_text

__all__ = ["HistoryTrial", "OptunaTPESearcher", "TrialSeededSampler"]

#: (parameters, "ok" | "pruned" | "diverged" | "error", objective or None) of a finished trial
HistoryTrial = tuple[Mapping[str, Any], str, float | None]


class TrialSeededSampler(BaseSampler):
    """Delegates trial ``n`` to ``make(n)``, a sampler made for that trial alone."""

    def __init__(self, make: Callable[[int], BaseSampler]) -> None:
        self._make = make
        self._current: tuple[int, BaseSampler] | None = None

    def _for(self, trial: FrozenTrial | optuna.Trial) -> BaseSampler:
        if self._current is None or self._current[0] != trial.number:
            self._current = (trial.number, self._make(trial.number))
        return self._current[1]

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._for(trial).before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Any) -> None:
        self._for(trial).after_trial(study, trial, state, values)


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


class OptunaTPESearcher(TableResumedSearcher):
    """Seeded TPE over ``distributions``; ``history`` are trials a resumed study already ran."""

    def __init__(self, distributions: Mapping[str, BaseDistribution], *, metric: str, mode: str = "min",
                 seed: int = 0, n_startup_trials: int = 5, history: Iterable[HistoryTrial] = (),
                 export_csv: Path | None = None) -> None:
        super().__init__(metric=metric, mode=mode)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.distributions = dict(distributions)
        sampler = TrialSeededSampler(lambda n: TPESampler(seed=seed + n, n_startup_trials=n_startup_trials))
        self.study = optuna.create_study(direction="minimize" if mode == "min" else "maximize", sampler=sampler)
        self.export_csv = export_csv
        self.live: dict[str, optuna.Trial] = {}
        for params, status, value in history:
            self.add_finished(params, status, value)

    def add_finished(self, params: Mapping[str, Any], status: str, value: float | None) -> None:
        """Tell the study a trial that finished in an earlier run."""
        kept = {k: v for k, v in params.items() if k in self.distributions}
        if status == "ok" and _finite(value):
            trial = create_trial(params=kept, distributions={k: self.distributions[k] for k in kept},
                                 value=float(value), state=TrialState.COMPLETE)
        else:
            state = TrialState.PRUNED if status == "pruned" else TrialState.FAIL
            trial = create_trial(params=kept, distributions={k: self.distributions[k] for k in kept}, state=state)
        self.study.add_trial(trial)

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        trial = self.study.ask(self.distributions)
        self.live[trial_id] = trial
        return dict(trial.params)

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        return None

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        trial = self.live.pop(trial_id, None)
        if trial is None:
            return
        if error or not result or result.get("diverged"):
            self.study.tell(trial, state=TrialState.FAIL)
        elif not _finite(result.get(self.metric)):
            self.study.tell(trial, state=TrialState.PRUNED)  # stopped before a value (NASWOT pruner)
        else:
            self.study.tell(trial, float(result[self.metric]))
        if self.export_csv is not None:
            atomic_write_text(Path(self.export_csv), self.study.trials_dataframe().to_csv(index=False))
