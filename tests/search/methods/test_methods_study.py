"""Every training-based method as a whole study with a real local Ray, on the synthetic set.

Each study writes the same outputs (trials CSV/Parquet, best config, compute, final
evaluation, a plot) plus what its method adds; the assertions check the numbers agree
with each other (the chosen network is the best row, means are means of repeats...).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from composed_config import compose_config

from surrogate_hpo.experiment import run_study
from surrogate_hpo.search.repeated_training import METRIC

TINY = ["data=mala_dir", "search_space=small", "training.max_epochs=2", "final_evaluation.seeds=2"]


def _study(method: str, synthetic_dir, tmp_path, extra=(), edit=None):
    cfg = compose_config(TINY + [f"method={method}", f"data.path={synthetic_dir}", f"output_root={tmp_path}",
                                 *extra])
    if edit is not None:
        edit(cfg)
    run_dir = tmp_path / method / "run"
    return cfg, run_dir, run_study(cfg, run_dir)


def _common_outputs(run_dir, summary, stage):
    trials = pd.read_parquet(run_dir / f"{stage}_trials.parquet")
    assert len(pd.read_csv(run_dir / f"{stage}_trials.csv")) == len(trials) > 0
    assert trials["trial_id"].is_unique
    ok = trials[trials["status"] == "ok"]
    best = ok.loc[ok["objective"].idxmin()]
    best_cfg = json.loads(best["config_json"])
    chosen = json.loads((run_dir / "best_config.json").read_text())
    assert chosen["architecture"]["architecture"] == best["architecture"]
    for key, value in best_cfg.items():  # the chosen training policy is the best row's
        if key in chosen["training"]:
            assert chosen["training"][key] == value
    assert summary["compute"]["cpu_seconds"] > summary["final_evaluation"]["compute"]["cpu_seconds"] > 0
    assert summary["final_evaluation"]["test_band_energy_mae_mev_per_atom"]["n"] == 2
    assert summary["final_evaluation"]["test_total_free_energy_mae_mev_per_atom"]["mean"] > 0
    assert (run_dir / f"{stage}_trials.png").stat().st_size > 1000
    assert json.loads((run_dir / f"{stage}_best.json").read_text())["trial_id"] == best["trial_id"]
    return trials


def test_tpe_averages_repeats_and_tells_optuna_the_mean(ray_local, synthetic_dir, tmp_path):
    cfg, run_dir, summary = _study("tpe", synthetic_dir, tmp_path, ["method.n_trials=4", "method.repeats=2",
                                                                     "method.n_startup_trials=2"])
    trials = _common_outputs(run_dir, summary, "tpe")
    assert len(trials) == 4 and (trials["status"] == "ok").all()
    for _, row in trials.iterrows():
        per_repeat = json.loads(row["per_repeat_json"])
        assert len(per_repeat) == 2 and per_repeat[0] != per_repeat[1]  # two seeds, two trainings
        assert row[METRIC] == pytest.approx(np.mean(per_repeat))
    optuna_trials = pd.read_csv(run_dir / "tpe_optuna.csv")
    assert (optuna_trials["state"] == "COMPLETE").sum() == 4
    assert sorted(optuna_trials["value"]) == pytest.approx(sorted(trials[METRIC]))

    # resumed when finished: nothing runs again, the choice is made over all four trials
    again = run_study({**cfg, "resume": str(run_dir)}, tmp_path / "tpe" / "run2")
    assert again["method_details"]["n_trials"] == 4
    assert again["chosen"]["architecture"] == summary["chosen"]["architecture"]
    assert len(pd.read_csv(run_dir / "tpe_trials.csv")) == 4


def test_an_interrupted_tpe_study_resumes_from_its_table_to_the_same_trials(ray_local, synthetic_dir, tmp_path):
    """Resume reads data, not pickles: cut the table to two trials (a study stopped there),
    resume, and the third trial is the one the uninterrupted study ran (same parameters)."""
    cfg, run_dir, _ = _study("tpe", synthetic_dir, tmp_path, ["method.n_trials=3", "method.repeats=1",
                                                               "method.n_startup_trials=2",
                                                               "cluster.max_concurrent_trials=1"])
    full = pd.read_parquet(run_dir / "tpe_trials.parquet").sort_values("trial_number")
    full.iloc[:2].to_parquet(run_dir / "tpe_trials.parquet", index=False)
    status = json.loads((run_dir / "status.json").read_text())
    (run_dir / "status.json").write_text(json.dumps({**status, "status": "interrupted"}))
    for pkl in run_dir.rglob("*.pkl"):
        pkl.unlink()  # nothing pickled is read on resume
    again = run_study({**cfg, "resume": str(run_dir)}, tmp_path / "tpe" / "run2")
    resumed = pd.read_parquet(run_dir / "tpe_trials.parquet").sort_values("trial_number")
    assert again["method_details"]["n_trials"] == 3 and len(resumed) == 3
    assert list(resumed["trial_number"]) == [1, 2, 3]
    assert json.loads(resumed.iloc[2]["config_json"]) == json.loads(full.iloc[2]["config_json"])
    assert list(resumed["trial_id"].iloc[:2]) == list(full["trial_id"].iloc[:2])  # the first two were not rerun


def test_tpe_naswot_prunes_below_the_learned_threshold(ray_local, synthetic_dir, tmp_path):
    cfg, run_dir, summary = _study("tpe_naswot", synthetic_dir, tmp_path,
                                   ["method.n_trials=8", "method.repeats=1", "method.warmup=2",
                                    "method.quantile=0.6", "method.n_inits=2", "cluster.max_concurrent_trials=1"])
    trials = _common_outputs(run_dir, summary, "tpe_naswot").sort_values("trial_number")
    assert trials["naswot_score"].notna().all()
    pruned = trials[trials["status"] == "pruned"]
    assert len(pruned) >= 1 and summary["method_details"]["n_pruned"] == len(pruned)
    assert pruned[METRIC].isna().all() and (pruned["train_seconds"].isna() if "train_seconds" in pruned else True).all()
    # one trial at a time: trial i met the quantile of the scores of trials 0..i-1
    scores = list(trials["naswot_score"])
    for i, (_, row) in enumerate(trials.iterrows()):
        if i < 2:
            assert row["status"] != "pruned"  # warm-up
            continue
        thr = float(np.quantile(scores[:i], 0.6))
        assert row["naswot_threshold"] == pytest.approx(thr)
        assert (row["status"] == "pruned") == (row["naswot_score"] < thr)
    optuna_trials = pd.read_csv(run_dir / "tpe_naswot_optuna.csv")
    assert (optuna_trials["state"] == "PRUNED").sum() == len(pruned)
    _same_scores_as_method_naswot(cfg, trials)


def _same_scores_as_method_naswot(cfg, trials):
    """A network gets the same score in tpe_naswot's table as method naswot computes for it."""
    from surrogate_hpo.data.config import DataConfig
    from surrogate_hpo.data.prepared import load_snapshot_set, prepare_training_data
    from surrogate_hpo.search import make_method
    from surrogate_hpo.search.factors import candidate_of
    from surrogate_hpo.search.methods.naswot import NaswotConfig, score_range
    from surrogate_hpo.search.scoring import make_scoring
    from surrogate_hpo.util.typed_config import parse

    data_cfg = parse(DataConfig, cfg["data"], "data")
    data = prepare_training_data(load_snapshot_set(data_cfg), data_cfg, seed=cfg["seed"])
    method = make_method(cfg["method"], cfg["search_space"])
    naswot_cfg = NaswotConfig(name="naswot", score=method.config.score, n_inits=method.config.n_inits,
                              batch_size=method.config.batch_size, k=method.config.k, direction="max",
                              candidates_per_trial="auto", device="cpu", validate=0, validate_epochs=1)
    scoring = make_scoring(naswot_cfg, data, cfg["seed"])
    for _, row in trials.iterrows():
        index = method.space.index_of(candidate_of(json.loads(row["config_json"])))
        (naswot_row,) = score_range(method.space, scoring, index, index + 1)
        assert naswot_row["score"] == pytest.approx(row["naswot_score"], rel=1e-12), row["architecture"]


def test_direct_search_rounds_keep_the_best_level(ray_local, synthetic_dir, tmp_path):
    cfg, run_dir, summary = _study("direct", synthetic_dir, tmp_path,
                                   ["method.order=[learning_rate,width_1,activation_2]", "method.repeats=1"])
    trials = _common_outputs(run_dir, summary, "direct")
    rounds = json.loads((run_dir / "direct_rounds.json").read_text())
    assert [r["factor"] for r in rounds["rounds"]] == ["learning_rate", "width_1", "activation_2"]
    # 2 levels per factor; the current best is not trained again: 2 + 1 + 1 trials
    assert len(trials) == 4
    for r in rounds["rounds"]:
        values = {k: v for k, v in r["values"].items() if v is not None}
        assert r["best_value"] == min(values.values())
    chosen = json.loads((run_dir / "best_config.json").read_text())
    assert chosen["training"]["learning_rate"] == rounds["current"]["learning_rate"]
    assert chosen["architecture"]["activations"][1] == rounds["current"]["activation_2"]


def test_oat_runs_every_row_then_range_analysis(ray_local, synthetic_dir, tmp_path):
    cfg, run_dir, summary = _study("oat", synthetic_dir, tmp_path)
    trials = _common_outputs(run_dir, summary, "oat")
    analysis = json.loads((run_dir / "oat_analysis.json").read_text())
    # small space: width_1, activation_1, width_2, activation_2, learning_rate, batch_size, 2 levels each -> L8
    assert len(analysis["factors"]) == 6 and len(analysis["array"]) == 8
    assert len(trials) == 8 + (analysis["confirmation"] == "done")
    losses = np.array([np.nan if v is None else v for v in analysis["losses"]])
    arr = np.array(analysis["array"])
    for j, name in enumerate(analysis["factors"]):
        means = [np.nanmean(losses[arr[:, j] == lv]) for lv in range(2)]
        assert analysis["level_means"][j] == pytest.approx(means)
        assert analysis["importance"][name] == pytest.approx(abs(means[0] - means[1]))
        assert analysis["best_levels"][name] == analysis["levels"][j][int(np.argmin(means))]
    assert (run_dir / "oat_effects.png").stat().st_size > 1000


def test_naswot_optimized_tunes_the_policy_of_the_naswot_choice(ray_local, synthetic_dir, tmp_path):
    cfg, run_dir, summary = _study("naswot_optimized", synthetic_dir, tmp_path,
                                   ["method.n_trials=3", "method.repeats=1", "method.candidates_per_trial=8"])
    scores = pd.read_csv(run_dir / "naswot_trials.csv")
    best = scores.loc[scores["score"].idxmax()]
    assert summary["chosen"]["architecture"] == best["architecture"]
    trials = _common_outputs(run_dir, summary, "tpe_policy")
    assert (trials["architecture"] == best["architecture"]).all()  # only the policy varies
    assert not any(k.startswith("config.width") for k in trials.columns)


def test_a_diverging_trial_is_recorded_as_failed_and_the_study_goes_on(ray_local, synthetic_dir, tmp_path):
    def huge_sgd_step(cfg):
        cfg["search_space"]["training"] = {
            "learning_rate": {"distribution": "categorical", "values": [1.0e-3, 1.0e12]},
            "optimizer": {"distribution": "categorical", "values": ["sgd"]},
        }

    cfg, run_dir, summary = _study("direct", synthetic_dir, tmp_path,
                                   ["method.order=[learning_rate]", "method.repeats=1"], edit=huge_sgd_step)
    trials = pd.read_csv(run_dir / "direct_trials.csv")
    by_lr = {json.loads(r)["learning_rate"]: s for r, s in zip(trials["config_json"], trials["status"])}
    assert by_lr == {1.0e-3: "ok", 1.0e12: "diverged"}
    assert summary["training"]["learning_rate"] == 1.0e-3
    assert math.isfinite(summary["final_evaluation"]["test_band_energy_mae_mev_per_atom"]["mean"])


def test_validation_loss_as_the_objective(ray_local, synthetic_dir, tmp_path):
    cfg, run_dir, summary = _study("tpe", synthetic_dir, tmp_path, ["method.n_trials=3", "method.repeats=1",
                                                                     "method.objective=val_loss"])
    trials = pd.read_csv(run_dir / "tpe_trials.csv")
    assert trials["objective"].tolist() == pytest.approx(trials["val_loss_mean"].tolist())
    best = trials.loc[trials["val_loss_mean"].idxmin()]
    assert json.loads((run_dir / "tpe_best.json").read_text())["trial_id"] == best["trial_id"]
    assert summary["method_details"]["objective"] == "val_loss"
    optuna_trials = pd.read_csv(run_dir / "tpe_optuna.csv")
    assert sorted(optuna_trials["value"]) == pytest.approx(sorted(trials["val_loss_mean"]))
