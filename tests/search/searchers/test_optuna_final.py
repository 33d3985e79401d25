"""FinalValueOptunaSearch: Optuna TPE told only each trial's final value (real Ray Tune run)."""

from __future__ import annotations

import math

import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState
from ray import tune

from surrogate_hpo.search.searchers import FinalValueOptunaSearch, NaswotThresholdScheduler

KINDS = ["ok", "diverge", "pruned"]
SPACE = {"x": FloatDistribution(0.0, 1.0), "kind": CategoricalDistribution(KINDS)}
SEED = 0
N_TRIALS = 6


def make_searcher(seed=SEED, n_startup_trials=50, export_csv=None):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
    return FinalValueOptunaSearch(space=dict(SPACE), metric="loss", mode="min", sampler=sampler,
                                  export_csv=export_csv)


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
