"""OptunaTPESearcher: Optuna TPE through ask-and-tell, told only each trial's final value."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState
from ray import tune

from surrogate_hpo.search.tune import NaswotThresholdScheduler, OptunaTPESearcher

KINDS = ["ok", "diverge", "pruned"]
SPACE = {"x": FloatDistribution(0.0, 1.0), "kind": CategoricalDistribution(KINDS)}
SEED = 0
N_TRIALS = 6


def make_searcher(seed=SEED, n_startup_trials=50, export_csv=None, history=()):
    return OptunaTPESearcher(dict(SPACE), metric="loss", mode="min", seed=seed, n_startup_trials=n_startup_trials,
                             export_csv=export_csv, history=history)


def final_loss(x):
    return (x - 0.3) ** 2


def tpe_sequence(seed, n=12):
    """Sequential suggest/complete without Ray; TPE takes over after 3 random trials."""
    s = make_searcher(seed=seed, n_startup_trials=3)
    out = []
    for i in range(n):
        cfg = s.suggest(f"t{i}")
        out.append((cfg["x"], cfg["kind"]))
        s.on_trial_complete(f"t{i}", {"loss": final_loss(cfg["x"]) + KINDS.index(cfg["kind"])})
    return out


def test_same_seed_gives_the_same_suggestions():
    a, b = tpe_sequence(SEED), tpe_sequence(SEED)
    assert a == b
    assert tpe_sequence(SEED + 1) != a


def test_a_searcher_given_the_history_suggests_what_the_uninterrupted_one_did():
    """Resume: a fresh searcher told the first trials (add_trial) continues the same sequence."""
    full = tpe_sequence(SEED, n=10)
    history = [({"x": x, "kind": k}, "ok", final_loss(x) + KINDS.index(k)) for x, k in full[:6]]
    resumed = make_searcher(n_startup_trials=3, history=history)
    rest = []
    for i in range(4):
        cfg = resumed.suggest(f"r{i}")
        rest.append((cfg["x"], cfg["kind"]))
        resumed.on_trial_complete(f"r{i}", {"loss": final_loss(cfg["x"]) + KINDS.index(cfg["kind"])})
    assert rest == full[6:]
    assert [t.state for t in resumed.study.trials[:6]] == [TrialState.COMPLETE] * 6


def test_history_states_are_kept():
    s = make_searcher(history=[({"x": 0.1, "kind": "ok"}, "ok", 0.04), ({"x": 0.2, "kind": "pruned"}, "pruned", None),
                               ({"x": 0.3, "kind": "diverge"}, "diverged", None)])
    assert [t.state for t in s.study.trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL]


def test_results_translate_to_optuna_states_without_ray():
    s = make_searcher()
    cfgs = {f"t{i}": s.suggest(f"t{i}") for i in range(4)}
    s.on_trial_result("t0", {"loss": math.nan, "naswot_score": 1.0, "training_iteration": 1})  # ignored
    s.on_trial_complete("t0", {"loss": 0.25})
    s.on_trial_complete("t1", {"loss": 0.1, "diverged": True})
    s.on_trial_complete("t2", {"loss": math.nan})
    s.on_trial_complete("t3", None, error=True)
    states = [t.state for t in s.study.trials]
    assert states == [TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED, TrialState.FAIL]
    assert s.study.trials[0].value == 0.25
    assert all(t.intermediate_values == {} for t in s.study.trials)
    assert [t.params for t in s.study.trials] == [cfgs[f"t{i}"] for i in range(4)]


def test_final_values_in_a_real_tune_run(ray_local, tmp_path):
    # precondition of this scenario: the seeded random start covers every kind of trial
    probe = make_searcher()
    expected_params = [probe.suggest(f"p{i}") for i in range(N_TRIALS)]
    assert {p["kind"] for p in expected_params} == set(KINDS)

    csv = tmp_path / "optuna_trials.csv"
    searcher = make_searcher(export_csv=csv)
    scheduler = NaswotThresholdScheduler(threshold=0.5)

    def trainable(config):
        # first report: a score, no finite objective yet (would break plain OptunaSearch)
        tune.report({"naswot_score": 0.0 if config["kind"] == "pruned" else 1.0, "loss": math.nan})
        if config["kind"] == "diverge":
            tune.report({"loss": 1e9, "diverged": True})
            return
        tune.report({"loss": (config["x"] - 0.3) ** 2, "diverged": False})

    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler, num_samples=N_TRIALS,
                                    reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="tpe", verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    assert len(results) == N_TRIALS

    trials = searcher.study.trials
    assert len(trials) == N_TRIALS
    # Tune asked for the same parameters a fresh searcher with the same seed suggests
    assert sorted((t.params["x"], t.params["kind"]) for t in trials) == \
        sorted((p["x"], p["kind"]) for p in expected_params)
    by_x = {r.config["x"]: r for r in results}
    for t in trials:
        assert t.intermediate_values == {}, "an intermediate result reached Optuna"
        kind, x = t.params["kind"], t.params["x"]
        last = by_x[x].metrics
        if kind == "ok":
            assert t.state == TrialState.COMPLETE
            assert t.value == pytest.approx(final_loss(x))
            assert last["training_iteration"] == 2
        elif kind == "diverge":
            assert t.state == TrialState.FAIL and t.value is None
        else:
            assert t.state == TrialState.PRUNED and t.value is None
            assert last["training_iteration"] == 1 and math.isnan(last["loss"])

    df = pd.read_csv(csv)
    assert len(df) == N_TRIALS
    assert sorted(df["state"]) == sorted(t.state.name for t in trials)
    ok = df[df["state"] == "COMPLETE"]
    assert list(ok["value"]) == pytest.approx([final_loss(x) for x in ok["params_x"]])
    assert df.loc[df["state"] != "COMPLETE", "value"].isna().all()
