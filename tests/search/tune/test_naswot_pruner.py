"""NaswotThresholdScheduler: learned (or fixed) NASWOT-score threshold, pure and in a real Tune run."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from ray import tune
from ray.tune.schedulers import TrialScheduler

from surrogate_hpo.search.tune import NaswotThresholdScheduler


class _Trial:
    def __init__(self, trial_id):
        self.trial_id = trial_id


def test_warmup_prunes_nothing():
    s = NaswotThresholdScheduler(warmup=3, quantile=0.5)
    # even very low scores pass while warming up
    for i, score in enumerate([10.0, -5.0, -100.0]):
        assert s.threshold() is None
        assert s.decide(f"w{i}", score) is False
    assert s.threshold() == pytest.approx(np.quantile([10.0, -5.0, -100.0], 0.5))


def test_after_warmup_below_quantile_is_pruned_above_passes():
    s = NaswotThresholdScheduler(warmup=4, quantile=0.5)
    warm = [1.0, 2.0, 3.0, 4.0]
    for i, v in enumerate(warm):
        s.decide(f"w{i}", v)
    thr = s.threshold()
    assert thr == pytest.approx(np.quantile(warm, 0.5))
    assert s.decide("low", thr - 0.1) is True
    assert s.decide("high", thr + 10.0) is False
    assert s.decisions["low"] == {"naswot_score": thr - 0.1, "naswot_threshold": thr, "pruned": True}
    assert s.decisions["high"]["naswot_threshold"] == pytest.approx(np.quantile(warm + [thr - 0.1], 0.5))


def test_threshold_is_learned_from_the_scores_seen():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=25)
    s = NaswotThresholdScheduler(warmup=5, quantile=0.3)
    thresholds = []
    for i, v in enumerate(scores):
        expected = None if i < 5 else float(np.quantile(scores[:i], 0.3))
        thr = s.threshold()
        if expected is None:
            assert thr is None
        else:
            assert thr == pytest.approx(expected)
            thresholds.append(thr)
        assert s.decide(f"t{i}", float(v)) == (expected is not None and v < expected)
    assert len(set(thresholds)) > 1  # it moves as scores arrive
    assert s.threshold() == pytest.approx(np.quantile(scores, 0.3))


def test_non_finite_scores_are_pruned_and_not_used_for_the_threshold():
    s = NaswotThresholdScheduler(warmup=2, quantile=0.5)
    assert s.decide("a", math.nan) is False  # warming up
    s.decide("b", 1.0)
    assert s.threshold() is None  # only one finite score so far
    s.decide("c", 3.0)
    assert s.threshold() == pytest.approx(2.0)
    assert s.decide("d", -math.inf) is True
    assert s.threshold() == pytest.approx(2.0)


def test_fixed_threshold():
    s = NaswotThresholdScheduler(threshold=0.5, warmup=10)
    assert s.threshold() == 0.5  # no warm-up with a fixed threshold
    assert s.decide("a", 0.4) is True
    assert s.decide("b", 0.6) is False
    for i in range(20):
        s.decide(f"x{i}", 100.0 + i)
    assert s.threshold() == 0.5
    assert s.decide("c", 0.49) is True


def test_repeated_report_of_the_same_trial_gives_the_same_decision():
    s = NaswotThresholdScheduler(warmup=2, quantile=0.5)
    s.decide("a", 1.0)
    s.decide("b", 2.0)
    assert s.decide("low", 0.0) is True
    for v in (0.0, 100.0):  # e.g. re-reported after a resume, even with another score
        assert s.decide("low", v) is True
    assert s.decide("hi", 5.0) is False
    assert s.decide("hi", -5.0) is False
    assert len(s.scores) == 4


def test_on_trial_result_only_acts_on_the_score_report():
    s = NaswotThresholdScheduler(warmup=1, quantile=0.5)
    assert s.on_trial_result(None, _Trial("a"), {"loss": 1.0}) == TrialScheduler.CONTINUE
    assert s.scores == []
    assert s.on_trial_result(None, _Trial("a"), {"naswot_score": 2.0, "loss": math.nan}) == TrialScheduler.CONTINUE
    assert s.on_trial_result(None, _Trial("b"), {"naswot_score": 1.0, "loss": math.nan}) == TrialScheduler.STOP
    assert s.on_trial_result(None, _Trial("b"), {"loss": 0.1}) == TrialScheduler.CONTINUE
    custom = NaswotThresholdScheduler(score_key="s", threshold=0.0)
    assert custom.on_trial_result(None, _Trial("c"), {"s": -1.0}) == TrialScheduler.STOP
    assert "1 trials pruned" in custom.debug_string()


def test_remember_restores_state():
    past = [("a", 1.0, None, False), ("b", 2.0, None, False), ("c", 0.5, 1.5, True), ("d", None, None, False),
            ("e", math.nan, 1.0, True)]
    s = NaswotThresholdScheduler(warmup=3, quantile=0.5)
    s.remember(past)
    assert s.scores == [1.0, 2.0, 0.5]
    assert set(s.decisions) == {"a", "b", "c"}
    assert s.threshold() == pytest.approx(np.quantile([1.0, 2.0, 0.5], 0.5))
    # a remembered trial keeps its recorded decision
    assert s.decide("c", 100.0) is True
    assert s.decide("a", -100.0) is False
    # remembering twice does not count a score twice
    s.remember(past)
    assert len(s.scores) == 3
    # the same sequence decided live gives the same state
    live = NaswotThresholdScheduler(warmup=3, quantile=0.5)
    for tid, score in (("a", 1.0), ("b", 2.0), ("c", 0.5)):
        live.decide(tid, score)
    assert live.threshold() == s.threshold()
    assert live.decide("new", 1.1) == s.decide("new", 1.1)
    # a resumed study passes the table's decisions to the constructor
    resumed = NaswotThresholdScheduler(warmup=3, quantile=0.5, history=past)
    assert resumed.scores == [1.0, 2.0, 0.5] and resumed.decisions["c"]["pruned"] is True


@pytest.mark.parametrize("kwargs", [{"quantile": -0.1}, {"quantile": 1.5}, {"warmup": -1}])
def test_invalid_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        NaswotThresholdScheduler(**kwargs)


# ----------------------------------------------------------------------------- real Ray Tune
SCORES = [5.0, 1.0, 3.0, 0.5, 4.0, 2.0, 6.0]


def test_scheduler_in_a_real_tune_run(ray_local, tmp_path):
    scheduler = NaswotThresholdScheduler(warmup=2, quantile=0.5)

    def trainable(config):
        s = config["score"]
        tune.report({"naswot_score": s, "loss": math.nan})
        time.sleep(0.05)  # "training"
        tune.report({"loss": 1.0 / s})

    tuner = tune.Tuner(
        trainable,
        param_space={"score": tune.grid_search(SCORES)},
        tune_config=tune.TuneConfig(scheduler=scheduler, max_concurrent_trials=1, reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="naswot", verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    assert len(results) == len(SCORES)
    by_trial = {r.metrics["trial_id"]: r for r in results}
    assert set(scheduler.decisions) == set(by_trial)

    # replay the decisions in the order the scheduler made them
    seen = []
    n_pruned = 0
    for tid, d in scheduler.decisions.items():
        score = by_trial[tid].config["score"]
        assert d["naswot_score"] == score
        expected_thr = None if len(seen) < 2 else float(np.quantile(seen, 0.5))
        if expected_thr is None:
            assert d["naswot_threshold"] is None
        else:
            assert d["naswot_threshold"] == pytest.approx(expected_thr)
        pruned = expected_thr is not None and score < expected_thr
        assert d["pruned"] == pruned
        last = by_trial[tid].metrics
        if pruned:
            n_pruned += 1
            assert last["training_iteration"] == 1  # stopped at its score report, before training
            assert math.isnan(last["loss"])
        else:
            assert last["training_iteration"] == 2
            assert last["loss"] == pytest.approx(1.0 / score)
        seen.append(score)
    assert 0 < n_pruned < len(SCORES) - 2
    assert scheduler.threshold() == pytest.approx(np.quantile(SCORES, 0.5))
