"""The trials table of a stage: one row per evaluated candidate, written as trials end.

``<stage>_trials.parquet`` is the record (typed columns; lists and dicts as JSON text) and
what a resumed study reads back; ``<stage>_trials.csv`` is the same table for people and
spreadsheets; ``<stage>_best.json`` the best row so far. Rows are keyed (``key``), so a
row written again replaces the old one. Common columns of every stage:

``trial_id``  the Tune trial that produced the row
``status``    ``ok``, ``pruned``, ``diverged`` or ``error``
``objective`` the stage's value (lower or higher is better by the stage's ``mode``)
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from ray.tune import Callback

from ..util.atomic import atomic_write_bytes, atomic_write_text, write_json
from ..util.json_safe import json_safe

__all__ = ["StageFiles", "TableWriter", "TrialsTable", "compute_of_rows", "is_finite_number", "table_cell", "OK", "DIVERGED", "PRUNED", "ERROR"]

OK, DIVERGED, PRUNED, ERROR = "ok", "diverged", "pruned", "error"

RowsOf = Callable[[Any], list[dict[str, Any]]]


def is_finite_number(v: Any) -> bool:
    """True for values that convert to a finite float (False for None, NaN, inf, text)."""
    try:
        return not isinstance(v, bool) and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def table_cell(value: Any) -> Any:
    """Lists and dicts as JSON text, so Parquet and CSV hold the same thing."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(json_safe(value))
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


class StageFiles:
    """Where a stage's table lives: ``<stage>_trials.parquet`` / ``.csv`` and ``<stage>_best.json``."""

    study_dir: Path
    stage: str

    @property
    def parquet_path(self) -> Path:
        return self.study_dir / f"{self.stage}_trials.parquet"

    @property
    def csv_path(self) -> Path:
        return self.study_dir / f"{self.stage}_trials.csv"

    @property
    def best_path(self) -> Path:
        return self.study_dir / f"{self.stage}_best.json"


class TrialsTable(StageFiles):
    """The rows of one stage, on disk after every change."""

    def __init__(self, study_dir: Path, stage: str, *, key: Sequence[str] = ("trial_id",),
                 metric: str | None = "objective", mode: str = "min") -> None:
        self.study_dir, self.stage = Path(study_dir), stage
        self.key, self.metric, self.mode = tuple(key), metric, mode
        self.rows: list[dict[str, Any]] = self.read()

    def read(self) -> list[dict[str, Any]]:
        """The rows on disk (none for a new stage)."""
        if not self.parquet_path.exists():
            return []
        df = pd.read_parquet(self.parquet_path)
        return [{k: v for k, v in r.items() if not (isinstance(v, float) and math.isnan(v))}
                for r in df.to_dict("records")]

    def _key(self, row: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(row.get(k)) for k in self.key)

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Add ``rows`` (replacing rows with the same key) and rewrite the files."""
        if not rows:
            return
        new = [{k: table_cell(v) for k, v in r.items()} for r in rows]
        keys = {self._key(r) for r in new}
        self.rows = [r for r in self.rows if self._key(r) not in keys] + new
        self.flush()

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def ok_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("status", OK) == OK]

    def best(self) -> dict[str, Any] | None:
        """The best row by ``metric`` among rows with a finite value (None if there is none)."""
        if self.metric is None:
            return None
        valid = [r for r in self.rows if is_finite_number(r.get(self.metric)) and r.get("status", OK) == OK]
        if not valid:
            return None
        pick = max if self.mode == "max" else min
        return pick(valid, key=lambda r: float(r[self.metric]))

    def counts(self) -> dict[str, int]:
        """Rows per status."""
        out: dict[str, int] = {}
        for r in self.rows:
            out[str(r.get("status", OK))] = out.get(str(r.get("status", OK)), 0) + 1
        return out

    def flush(self) -> None:
        df = self.frame()
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        atomic_write_bytes(self.parquet_path, buf.getvalue())
        atomic_write_text(self.csv_path, df.to_csv(index=False))
        best = self.best()
        if best is not None:
            write_json(self.best_path, best)


class TableWriter(Callback):
    """Tune callback: each finished or failed trial becomes rows of ``table`` at once.

    Every row also gets ``trial_seconds``: its trial's wall time divided among the rows the
    trial produced, so the table alone gives a stage's compute (:func:`compute_of_rows`).
    """

    def __init__(self, table: TrialsTable, rows_of: RowsOf) -> None:
        self.table, self.rows_of = table, rows_of

    def _add(self, trial: Any) -> None:
        rows = self.rows_of(trial)
        seconds = float((trial.last_result or {}).get("time_total_s", 0.0) or 0.0)
        for r in rows:
            r.setdefault("trial_seconds", seconds / len(rows))
        self.table.add(rows)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._add(trial)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._add(trial)


def compute_of_rows(rows: list[dict[str, Any]], cpus_per_trial: float, gpus_per_trial: float) -> dict[str, float]:
    """CPU- and GPU-seconds of a stage from its rows' ``trial_seconds`` (resumed runs included)."""
    seconds = sum(float(r.get("trial_seconds") or 0.0) for r in rows if is_finite_number(r.get("trial_seconds")))
    return {"cpu_seconds": seconds * cpus_per_trial, "gpu_seconds": seconds * gpus_per_trial,
            "trial_seconds": seconds}
