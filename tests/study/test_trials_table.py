"""TrialsTable / TableWriter: rows on disk as trials end, typed read-back, best row, compute."""

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from surrogate_hpo.study.trials_table import TableWriter, TrialsTable, compute_of_rows


def _trial(tid, score, status="TERMINATED", seconds=2.0):
    return SimpleNamespace(trial_id=tid, status=status, last_result={"score": score, "time_total_s": seconds})


def rows_of(trial):
    return [{"trial_id": trial.trial_id, "score": trial.last_result["score"], "widths": [8, 16], "status": "ok"}]


def test_rows_are_written_as_trials_end_and_best_tracked(tmp_path):
    table = TrialsTable(tmp_path, "s", metric="score", mode="max")
    w = TableWriter(table, rows_of)
    w.on_trial_complete(0, [], _trial("a", 1.0))
    assert pd.read_csv(tmp_path / "s_trials.csv").shape[0] == 1
    w.on_trial_complete(0, [], _trial("b", 3.0))
    w.on_trial_complete(0, [], _trial("c", float("nan")))
    df = pd.read_parquet(tmp_path / "s_trials.parquet")
    assert list(df["trial_id"]) == ["a", "b", "c"]
    assert json.loads(df["widths"][0]) == [8, 16]
    assert json.loads((tmp_path / "s_best.json").read_text())["trial_id"] == "b"
    assert "NaN" not in (tmp_path / "s_best.json").read_text()


def test_a_new_table_reads_the_rows_back_and_replaces_by_key(tmp_path):
    w = TableWriter(TrialsTable(tmp_path, "s", metric="score", mode="min"), rows_of)
    w.on_trial_complete(0, [], _trial("a", 2.0))
    w.on_trial_complete(0, [], _trial("b", 1.0))
    again = TrialsTable(tmp_path, "s", metric="score", mode="min")  # a resumed study
    assert [r["trial_id"] for r in again.rows] == ["a", "b"] and again.rows[0]["score"] == 2.0
    w2 = TableWriter(again, rows_of)
    w2.on_trial_complete(0, [], _trial("b", 0.5))  # the same key replaces its row
    w2.on_trial_complete(0, [], _trial("c", 4.0))
    df = pd.read_csv(tmp_path / "s_trials.csv")
    assert sorted(df["trial_id"]) == ["a", "b", "c"]
    assert json.loads((tmp_path / "s_best.json").read_text())["score"] == 0.5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_compute_comes_from_the_rows(tmp_path):
    table = TrialsTable(tmp_path, "s", metric="score")
    w = TableWriter(table, lambda t: [{"trial_id": t.trial_id, "k": i, "status": "ok"} for i in range(4)])
    w.on_trial_complete(0, [], _trial("a", 1.0, seconds=8.0))
    assert [r["trial_seconds"] for r in table.rows] == [2.0] * 4  # one trial's time shared by its rows
    assert compute_of_rows(table.rows, 2.0, 0.5) == pytest.approx(
        {"cpu_seconds": 16.0, "gpu_seconds": 4.0, "trial_seconds": 8.0})
