import json
from types import SimpleNamespace

import pandas as pd

from surrogate_hpo.study.results import ResultsWriter


def _trial(tid, score, status="TERMINATED"):
    return SimpleNamespace(trial_id=tid, status=status, last_result={"score": score})


def rows_of(trial):
    return [{"trial_id": trial.trial_id, "score": trial.last_result["score"], "widths": [8, 16]}]


def test_rows_are_written_as_trials_end_and_best_tracked(tmp_path):
    w = ResultsWriter(tmp_path, "s", rows_of, metric="score", mode="max")
    w.on_trial_complete(0, [], _trial("a", 1.0))
    assert pd.read_csv(tmp_path / "s_trials.csv").shape[0] == 1
    w.on_trial_complete(0, [], _trial("b", 3.0))
    w.on_trial_complete(0, [], _trial("c", float("nan")))
    df = pd.read_parquet(tmp_path / "s_trials.parquet")
    assert list(df["trial_id"]) == ["a", "b", "c"]
    assert json.loads(df["widths"][0]) == [8, 16]
    assert json.loads((tmp_path / "s_best.json").read_text())["trial_id"] == "b"


def test_min_mode_and_resume_keeps_rows_without_duplicates(tmp_path):
    w = ResultsWriter(tmp_path, "s", rows_of, metric="score", mode="min")
    w.on_trial_complete(0, [], _trial("a", 2.0))
    w.on_trial_complete(0, [], _trial("b", 1.0))
    # a restarted study: a new writer (or a restored one calling setup) sees the rows on disk
    w2 = ResultsWriter(tmp_path, "s", rows_of, metric="score", mode="min")
    w2.setup()
    w2.on_trial_complete(0, [], _trial("b", 0.5))  # the same trial run again replaces its row
    w2.on_trial_complete(0, [], _trial("c", 4.0))
    df = pd.read_csv(tmp_path / "s_trials.csv")
    assert sorted(df["trial_id"]) == ["a", "b", "c"]
    assert json.loads((tmp_path / "s_best.json").read_text())["score"] == 0.5
    assert not list(tmp_path.glob(".*.tmp"))
