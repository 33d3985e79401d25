"""Optuna's TPE through Ray Tune's ``OptunaSearch``, told only each trial's final value.

Changes to ``OptunaSearch``, all about what Optuna is told and what is kept:

* intermediate results are not forwarded (``OptunaSearch`` would call
  ``trial.report(result[metric], step)`` and fails on a result without the metric, such as
  the NASWOT-score report that precedes training in ``tpe_naswot``); pruning here is the
  job of a Tune scheduler, not of an Optuna pruner;
* a trial that reports ``diverged=True`` is told to Optuna as FAIL (``OptunaSearch`` would
  mark a trial without a value PRUNED), so TPE does not learn from it;
* with ``export_csv``, the Optuna trials table is written after every finished trial.

The Optuna study, its sampler and the random state are pickled with the searcher
(``OptunaSearch.save``) whenever Tune saves its experiment state, so a resumed study
continues the same sampler.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ray.tune.search.optuna import OptunaSearch

from ...study.results import atomic_write_text


class FinalValueOptunaSearch(OptunaSearch):
    def __init__(self, *args: Any, export_csv: Path | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.export_csv = export_csv

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        return None

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        if result and result.get("diverged"):
            result, error = None, True
        elif result and not _finite(result.get(self.metric)):
            result = None  # stopped before a value (e.g. pruned by its NASWOT score): PRUNED in Optuna
        super().on_trial_complete(trial_id, result, error)
        if self.export_csv is not None and self._ot_study is not None:
            atomic_write_text(Path(self.export_csv), self._ot_study.trials_dataframe().to_csv(index=False))

    @property
    def study(self) -> Any:
        """The Optuna study (trials, values, states) behind the searcher."""
        return self._ot_study


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


__all__ = ["FinalValueOptunaSearch"]
