"""A tiny NASWOT study with a real local Ray writes every result file, and resumes."""

import json
import time

import pandas as pd
import pytest
from composed_config import compose_config

from surrogate_hpo.experiment import run_study

TINY = [
    "data=mala_dir",
    "search_space=small",
    "training.max_epochs=3",
    "final_evaluation.seeds=2",
    "method.candidates_per_trial=5",
]


@pytest.fixture(scope="module")
def finished_study(ray_local, synthetic_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    cfg = compose_config(TINY + [f"data.path={synthetic_dir}", f"output_root={out}"])
    run_dir = out / "naswot" / "run1"
    t0 = time.perf_counter()
    summary = run_study(cfg, run_dir)
    summary["_measured_wall"] = time.perf_counter() - t0
    return cfg, run_dir, summary


def test_tiny_study_writes_its_result_files(finished_study):
    cfg, run_dir, summary = finished_study
    trials = pd.read_parquet(run_dir / "naswot_trials.parquet")
    # every candidate of the small grid ((2 widths x 2 activations)^2 = 16) scored exactly
    # once, in 4 chunked Tune trials of at most 5 candidates
    assert sorted(trials["candidate_id"]) == list(range(16))
    assert trials["trial_id"].nunique() == 4
    assert pd.read_csv(run_dir / "naswot_trials.csv").shape[0] == 16
    best = json.loads((run_dir / "naswot_best.json").read_text())
    assert best["score"] == trials["score"].max()
    assert summary["chosen"]["widths"] == json.loads(best["widths"])
    final = pd.read_csv(run_dir / "final_trials.csv")
    assert sorted(final["seed"]) == [0, 1]
    fe = summary["final_evaluation"]["test_band_energy_mae_mev_per_atom"]
    assert fe["n"] == 2 and fe["mean"] > 0
    assert (run_dir / "model" / "model.pt").exists()
    assert (run_dir / "naswot_scores.png").stat().st_size > 1000
    assert json.loads((run_dir / "status.json").read_text())["status"] == "finished"
    assert "test band-energy MAE" in (run_dir / "summary.md").read_text()
    assert (run_dir / "tune" / "naswot").is_dir()  # Tune's own experiment directory kept


def test_the_time_account_adds_up_to_the_wall_time(finished_study):
    _, run_dir, summary = finished_study
    account = json.loads((run_dir / "summary.json").read_text())["time_account"]
    named = {k: v for k, v in account.items() if k not in ("other", "total")}
    assert {"config checks", "data checks", "data loading", "ray start (beyond data loading)", "search (naswot)",
            "final evaluation", "writing results"} <= set(named)
    assert all(v >= 0 for v in account.values())
    # the named phases cover the wall time measured around the study, within a few percent
    assert account["total"] == pytest.approx(summary["_measured_wall"], rel=0.03, abs=0.3)
    assert sum(named.values()) == pytest.approx(account["total"], rel=0.03, abs=0.3)
    # each Tune stage splits into parts that add up to the stage, inside its phase
    stages = {st["stage"]: st for st in summary["tune_stages"]}
    assert set(stages) == {"naswot", "final"}
    for st in stages.values():
        parts = [st[k] for k in ("useful", "trial start", "idle slots", "bookkeeping")]
        assert min(parts) >= 0
        assert sum(parts) == pytest.approx(st["wall"], abs=1e-6)
    assert stages["naswot"]["wall"] <= named["search (naswot)"]
    assert stages["final"]["wall"] <= named["final evaluation"]


def test_resume_of_a_finished_study_reruns_nothing(finished_study):
    cfg, run_dir, summary = finished_study
    before = pd.read_csv(run_dir / "naswot_trials.csv")
    again = run_study({**cfg, "resume": str(run_dir)}, run_dir.parent / "run2")
    after = pd.read_csv(run_dir / "naswot_trials.csv")
    assert len(after) == len(before) == 16
    assert list(after["seconds"]) == list(before["seconds"])  # rows kept, not recomputed
    assert again["chosen"] == summary["chosen"]
    assert not (run_dir.parent / "run2").exists()


def test_the_trust_check_trains_networks_across_the_ranking_and_warns_on_a_null_interval(
        ray_local, synthetic_dir, tmp_path):
    cfg = compose_config(TINY + [f"data.path={synthetic_dir}", f"output_root={tmp_path}", "final_evaluation.seeds=1",
                                 "method.validate=4", "method.validate_epochs=1"])
    run_dir = tmp_path / "naswot" / "run"
    summary = run_study(cfg, run_dir)
    scores = pd.read_parquet(run_dir / "naswot_trials.parquet").sort_values("score", ascending=False)
    checked = pd.read_parquet(run_dir / "validate_trials.parquet")
    assert len(checked) == 4 and checked["candidate_id"].is_unique and (checked["epochs"] == 1).all()
    # spread over the ranking: the best- and the worst-scored networks are among them
    assert {scores["candidate_id"].iloc[0], scores["candidate_id"].iloc[-1]} <= set(checked["candidate_id"])
    details = summary["method_details"]
    assert details["validate_n"] == 4
    low, high = details["validate_interval"]
    assert low <= details["validate_tau"] <= high
    warned = any(w.startswith("trust check") for w in summary["warnings"])
    assert warned == (high >= 0)
    if warned:
        assert "trust check" in (run_dir / "summary.md").read_text()
    # the training time is counted in the study's compute
    assert summary["compute"]["cpu_seconds"] > summary["final_evaluation"]["compute"]["cpu_seconds"]
