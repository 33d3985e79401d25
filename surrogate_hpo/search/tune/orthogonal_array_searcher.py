"""Orthogonal array tuning (OAT) as a Tune ``Searcher``.

Every row of a strength-2 orthogonal array over the factors' level counts is one trial;
rows are independent, so all of them may run at once (the paper ran them one after
another). When every row has finished, range analysis gives each factor's best level (the
lowest mean loss over the rows at that level) and its importance (max - min of those
means). With ``confirm=True`` the combination of best levels, which is usually not a row
of the array, is trained as one more trial; the better of it and the best row wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from ...study.resume import TableResumedSearcher
from ...util.atomic import write_json
from ..factors import Factor
from ..orthogonal_arrays import orthogonal_array, range_analysis
from .objective import objective


class OrthogonalArraySearcher(TableResumedSearcher):
    """Suggests the rows of an orthogonal array, then (optionally) the confirmation run."""

    def __init__(self, factors: Sequence[Factor], *, metric: str, mode: str = "min",
                 fixed: Mapping[str, Any] | None = None, confirm: bool = True,
                 report_json: Path | None = None) -> None:
        super().__init__(metric=metric, mode=mode)
        if mode != "min":
            raise ValueError("range analysis ranks levels by mean loss: use mode='min'")
        if not factors:
            raise ValueError("OAT needs at least one factor with two or more levels")
        self.factors = list(factors)
        self.fixed = dict(fixed or {})
        self.levels = [f.n_levels for f in self.factors]
        self.array = orthogonal_array(self.levels)
        self.confirm = confirm
        self.next_row = 0
        self.pending: dict[str, int] = {}          # trial id -> row (-1 = confirmation run)
        self.losses = np.full(self.array.shape[0], np.nan)
        self.analysis: dict[str, Any] | None = None
        self.confirmation_loss: float | None = None
        self.confirmation_state = "not needed" if not confirm else "waiting"
        self.report_json = report_json  # the analysis is written here once known, and after confirmation

    @property
    def n_rows(self) -> int:
        return int(self.array.shape[0])

    def row_config(self, row: int) -> dict[str, Any]:
        return {**self.fixed, **{f.name: f.levels[int(self.array[row, j])] for j, f in enumerate(self.factors)}}

    def combined_best_config(self) -> dict[str, Any]:
        """Each factor at its range-analysis best level (after all rows finished)."""
        if self.analysis is None:
            raise RuntimeError("range analysis needs every row finished")
        return {**self.fixed, **{f.name: f.levels[b] for f, b in zip(self.factors, self.analysis["best_levels"])}}

    def _best_row(self) -> int | None:
        ok = np.isfinite(self.losses)
        return int(np.nanargmin(self.losses)) if ok.any() else None

    def _matching_row(self, config: Mapping[str, Any]) -> int | None:
        for r in range(self.n_rows):
            if self.row_config(r) == dict(config):
                return r
        return None

    # ----------------------------------------------------------------- Tune API
    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.next_row < self.n_rows:
            row = self.next_row
            self.next_row += 1
            self.pending[trial_id] = row
            return self.row_config(row)
        if self.pending:
            return None  # rows still running: range analysis waits for all of them
        if self.analysis is None:
            self.analysis = range_analysis(self.array, self.levels, self.losses) if np.isfinite(self.losses).any() \
                else None
            if self.analysis is None:
                self.confirmation_state = "skipped: no row finished"
                return Searcher.FINISHED
            if self.confirm:
                match = self._matching_row(self.combined_best_config())
                if match is not None:
                    self.confirmation_state = f"not needed: combined best is row {match}"
            self._write_report()
        if self.confirmation_state == "waiting":
            self.confirmation_state = "running"
            self.pending[trial_id] = -1
            return self.combined_best_config()
        return Searcher.FINISHED

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        row = self.pending.pop(trial_id, None)
        if row is None:
            return
        v = objective(result, self.metric, error)
        if row == -1:
            self.confirmation_loss = v
            self.confirmation_state = "done" if v is not None else "failed"
            self._write_report()
        else:
            self.losses[row] = np.nan if v is None else v

    # ----------------------------------------------------------------- answers
    def report(self) -> dict[str, Any]:
        """Range analysis, the array, the losses and which configuration won (JSON-ready)."""
        out: dict[str, Any] = {
            "factors": [f.name for f in self.factors],
            "levels": [list(f.levels) for f in self.factors],
            "array": self.array.tolist(),
            "losses": [None if not np.isfinite(v) else float(v) for v in self.losses],
            "confirmation": self.confirmation_state,
            "confirmation_loss": self.confirmation_loss,
            "fixed": self.fixed,
        }
        if self.analysis is not None:
            out["combined_best"] = self.combined_best_config()
        if self.analysis is not None:
            a = self.analysis
            out.update({
                "level_means": [[None if not np.isfinite(x) else float(x) for x in m] for m in a["level_means"]],
                "best_levels": {f.name: f.levels[b] for f, b in zip(self.factors, a["best_levels"])},
                "importance": {f.name: float(i) for f, i in zip(self.factors, a["importance"])},
                "ranking": [self.factors[j].name for j in a["ranking"]],
                "n_failed_rows": a["n_failed"],
            })
        best_row = self._best_row()
        out["best_row"] = best_row
        out["best_row_loss"] = None if best_row is None else float(self.losses[best_row])
        return out

    def _write_report(self) -> None:
        if self.report_json is not None:
            write_json(Path(self.report_json), self.report())

    def max_trials(self) -> int:
        return self.n_rows + (1 if self.confirm else 0)


__all__ = ["OrthogonalArraySearcher"]
