"""Results written as trials end: every row to CSV and Parquet, the best row to JSON.

Files (in the study directory):

* ``<stage>_trials.csv`` / ``<stage>_trials.parquet``: one row per evaluated candidate
  (a Tune trial may account for several candidates, e.g. a NASWOT chunk);
* ``<stage>_best.json``: the best row so far, by ``metric`` and ``mode``.

Each write goes to a temporary file renamed into place, so an interrupted study never
leaves a truncated file; on resume the rows already on disk are read back first, and rows
are de-duplicated by ``key`` so a trial run again is not counted twice.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from ray.tune import Callback

RowsOf = Callable[[Any], list[dict[str, Any]]]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    return str(o)


def _cell(value: Any) -> Any:
    """Lists and dicts are stored as JSON text so CSV and Parquet hold the same thing."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=_json_default)
    return value


class ResultsWriter(Callback):
    """Tune callback that persists rows as each trial ends.

    Args:
        study_dir: where the files go.
        stage: file prefix, e.g. ``"naswot"`` or ``"final"``.
        rows_of: ``f(trial) -> rows`` turning a finished (or failed) trial into table rows.
        metric, mode: which column decides the best row (``"max"`` or ``"min"``).
        key: columns that identify a row (for de-duplication on resume).
    """

    def __init__(
        self,
        study_dir: Path,
        stage: str,
        rows_of: RowsOf,
        *,
        metric: str | None = None,
        mode: str = "max",
        key: Sequence[str] = ("trial_id",),
    ) -> None:
        self.study_dir = Path(study_dir)
        self.stage, self.rows_of = stage, rows_of
        self.metric, self.mode, self.key = metric, mode, tuple(key)
        self.rows: list[dict[str, Any]] = self._read_existing()

    @property
    def csv_path(self) -> Path:
        return self.study_dir / f"{self.stage}_trials.csv"

    @property
    def parquet_path(self) -> Path:
        return self.study_dir / f"{self.stage}_trials.parquet"

    @property
    def best_path(self) -> Path:
        return self.study_dir / f"{self.stage}_best.json"

    def _read_existing(self) -> list[dict[str, Any]]:
        if not self.csv_path.exists():
            return []
        return pd.read_csv(self.csv_path).to_dict("records")

    def setup(self, **info: Any) -> None:
        """Called by Tune at (re)start: re-read the rows written since this writer was made."""
        self.rows = self._read_existing()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.add_rows(self.rows_of(trial))

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.add_rows(self.rows_of(trial))

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        """Append rows (replacing rows with the same key) and rewrite the files."""
        if not rows:
            return
        new = [{k: _cell(v) for k, v in r.items()} for r in rows]
        new_keys = {tuple(str(r.get(k)) for k in self.key) for r in new}
        self.rows = [r for r in self.rows if tuple(str(r.get(k)) for k in self.key) not in new_keys]
        self.rows.extend(new)
        self.flush()

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def best_row(self) -> dict[str, Any] | None:
        """The best row by ``metric`` (rows without a finite value are skipped)."""
        if self.metric is None:
            return None
        valid = [r for r in self.rows if is_finite_number(r.get(self.metric))]
        if not valid:
            return None
        pick = max if self.mode == "max" else min
        return pick(valid, key=lambda r: float(r[self.metric]))

    def flush(self) -> None:
        self.study_dir.mkdir(parents=True, exist_ok=True)
        df = self.frame()
        atomic_write_text(self.csv_path, df.to_csv(index=False))
        tmp = self.parquet_path.with_name(f".{self.parquet_path.name}.tmp")
        df.to_parquet(tmp, index=False)
        os.replace(tmp, self.parquet_path)
        best = self.best_row()
        if best is not None:
            write_json(self.best_path, best)


def is_finite_number(v: Any) -> bool:
    """True for values that convert to a finite float (False for None, NaN, inf, text)."""
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False
