"""The table of a training-free stage: one row per scored candidate, memory flat in their number.

Each finished trial's rows go to ``<stage>_trials.parts/<n>.parquet`` at once (atomic); the
driver keeps only which candidates are scored (a bit per candidate), the best row and
running counts. :meth:`ScoreTable.finish` streams the parts into ``<stage>_trials.parquet``
and ``.csv`` (the record people and a resumed study read) and ``<stage>_best.json``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..util.atomic import atomic_open, temporary_path, write_json
from .trials_table import OK, StageFiles, table_cell

__all__ = ["ScoreTable"]


class ScoreTable(StageFiles):
    """Rows keyed by ``candidate_id`` (0 .. ``n_candidates`` - 1); ``metric`` better by ``mode``."""

    def __init__(self, study_dir: Path, stage: str, n_candidates: int, *, metric: str = "score",
                 mode: str = "max") -> None:
        self.study_dir, self.stage = Path(study_dir), stage
        self.metric, self.mode = metric, mode
        self.scored = np.zeros(int(n_candidates), dtype=bool)
        self.best_row: dict[str, Any] | None = None
        self.n_rows = self.n_errors = 0
        self.trial_seconds = 0.0
        self.parts.mkdir(parents=True, exist_ok=True)
        if self.parquet_path.exists() and not any(self.parts.glob("*.parquet")):
            # a study written before parts existed (or finished): its table is the first part
            (self.parts / "000000.parquet").write_bytes(self.parquet_path.read_bytes())
        existing = self._part_files()
        for part in existing:
            self._account(pd.read_parquet(part))
        self._next_part = len(existing)

    # ------------------------------------------------------------------ files
    @property
    def parts(self) -> Path:
        return self.study_dir / f"{self.stage}_trials.parts"

    def _part_files(self) -> list[Path]:
        return sorted(self.parts.glob("*.parquet"))

    # ------------------------------------------------------------------ rows
    def _account(self, df: pd.DataFrame) -> None:
        ok = df[df["status"] == OK] if "status" in df else df
        ids = ok["candidate_id"].to_numpy(dtype=np.int64)
        inside = ids[(ids >= 0) & (ids < len(self.scored))]
        self.scored[inside] = True
        self.n_rows += len(df)
        self.n_errors += len(df) - len(ok)
        if "trial_seconds" in df:
            self.trial_seconds += float(np.nansum(df["trial_seconds"].to_numpy(dtype=float)))
        values = ok[self.metric].to_numpy(dtype=float) if self.metric in ok else np.array([])
        finite = np.isfinite(values)
        if finite.any():
            pos = int(np.nanargmax(np.where(finite, values, -np.inf)) if self.mode == "max"
                      else np.nanargmin(np.where(finite, values, np.inf)))
            row = {k: (v.item() if hasattr(v, "item") else v) for k, v in ok.iloc[pos].items()}
            if self.best_row is None or self._better(float(row[self.metric]), float(self.best_row[self.metric])):
                self.best_row = {k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))}

    def _better(self, a: float, b: float) -> bool:
        return a > b if self.mode == "max" else a < b

    def add(self, rows: Sequence[dict[str, Any]]) -> None:
        """One trial's rows: written as a new part, then counted."""
        if not rows:
            return
        df = pd.DataFrame([{k: table_cell(v) for k, v in r.items()} for r in rows])
        with atomic_open(self.parts / f"{self._next_part:06d}.parquet") as fh:
            df.to_parquet(fh, index=False)
        self._next_part += 1
        self._account(df)

    def best(self) -> dict[str, Any] | None:
        return self.best_row

    def is_scored(self, candidate_id: int) -> bool:
        return bool(self.scored[candidate_id])

    def columns(self, names: Sequence[str]) -> pd.DataFrame:
        """Only ``names`` of every row (from the parts): what a plot or a ranking needs."""
        frames = [pd.read_parquet(p, columns=[c for c in names if c in pq.read_schema(p).names])
                  for p in self._part_files()]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(names))

    def finish(self) -> None:
        """Stream the parts into ``<stage>_trials.parquet`` and ``.csv``; write the best row."""
        files = self._part_files()
        if not files:
            return
        schema = pa.unify_schemas([pq.read_schema(p) for p in files])
        tmp_parquet, tmp_csv = temporary_path(self.parquet_path), temporary_path(self.csv_path)
        with pq.ParquetWriter(tmp_parquet, schema) as writer, open(tmp_csv, "w") as csv:
            for i, part in enumerate(files):
                table = pq.read_table(part)
                for name in schema.names:
                    if name not in table.column_names:
                        table = table.append_column(name, pa.nulls(len(table), schema.field(name).type))
                table = table.select(schema.names).cast(schema)
                writer.write_table(table)
                table.to_pandas().to_csv(csv, index=False, header=i == 0)
        tmp_parquet.replace(self.parquet_path)
        tmp_csv.replace(self.csv_path)
        if self.best_row is not None:
            write_json(self.best_path, self.best_row)

    def frame(self) -> pd.DataFrame:
        """Every row (the consolidated file): for small tables and tests."""
        return pd.read_parquet(self.parquet_path) if self.parquet_path.exists() else self.columns([])

    def compute(self, cpus_per_trial: float, gpus_per_trial: float) -> dict[str, float]:
        """CPU- and GPU-seconds of the stage from its rows' ``trial_seconds``."""
        return {"cpu_seconds": self.trial_seconds * cpus_per_trial, "gpu_seconds": self.trial_seconds * gpus_per_trial,
                "trial_seconds": self.trial_seconds}

    def __len__(self) -> int:
        return self.n_rows

