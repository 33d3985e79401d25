"""DirectSearcher: coordinate-wise search, driven by hand and through a real Ray Tune run."""

from __future__ import annotations

import itertools
import math

import pytest
from ray import tune
from ray.tune.search import Searcher

from surrogate_hpo.search.factors import Factor
from surrogate_hpo.search.tune import DirectSearcher, config_key
from surrogate_hpo.study.resume import ReplaySearcher

FACTORS = [
    Factor("a", (0, 1, 2), False),
    Factor("b", ("x", "y"), False),
    Factor("c", (1, 2, 3, 4), False),
]
# separable objective: the optimum (a=2, b="y", c=3) has no factor at its first level
EFFECTS = {"a": {0: 3.0, 1: 1.0, 2: 0.0}, "b": {"x": 2.0, "y": 0.5}, "c": {1: 4.0, 2: 1.0, 3: 0.0, 4: 2.0}}


def loss(cfg):
    return sum(EFFECTS[f][cfg[f]] for f in EFFECTS)


def true_optimum():
    grid = [dict(zip(EFFECTS, combo)) for combo in itertools.product(*(list(e) for e in EFFECTS.values()))]
    return min(grid, key=loss)


def suggest_round(s, start_id):
    """Every config the searcher suggests before it has to wait: [(trial_id, cfg)], last answer."""
    out, i = [], start_id
    while True:
        cfg = s.suggest(f"t{i}")
        if cfg is None or cfg == Searcher.FINISHED:
            return out, cfg
        out.append((f"t{i}", cfg))
        i += 1


def drive(s, objective=loss, result_of=None, max_rounds=100, start_id=0, stop_after_rounds=None):
    """Run the search by hand: suggest everything possible, complete all (in reverse), repeat."""
    seen, i = [], start_id
    for n_round in range(max_rounds):
        if stop_after_rounds is not None and n_round == stop_after_rounds:
            return seen, i
        batch, last = suggest_round(s, i)
        i += len(batch)
        seen.extend(cfg for _, cfg in batch)
        if last == Searcher.FINISHED:
            assert not batch
            return seen, i
        assert last is None and batch, "the searcher waits with nothing pending"
        for tid, cfg in reversed(batch):
            if result_of is not None:
                res = result_of(cfg)
                if res == "error":
                    s.on_trial_complete(tid, None, error=True)
                    continue
                s.on_trial_complete(tid, res)
            else:
                s.on_trial_complete(tid, {"loss": objective(cfg)})
    raise AssertionError("direct search did not finish")


def test_direct_search_ends_at_the_optimum_of_a_separable_objective():
    s = DirectSearcher(FACTORS, metric="loss")
    seen, _ = drive(s)
    assert s.finished
    assert s.best_config() == true_optimum()
    keys = [config_key(c) for c in seen]
    assert len(keys) == len(set(keys)), "a configuration was suggested twice"
    # the current best of every later round is not trained again
    assert len(seen) == sum(f.n_levels for f in FACTORS) - (len(FACTORS) - 1)
    assert len(seen) <= s.max_trials()
    assert [h["factor"] for h in s.history] == [f.name for f in FACTORS]
    assert [h["chosen"] for h in s.history] == [true_optimum()[f.name] for f in FACTORS]
    assert s.history[-1]["best_value"] == pytest.approx(loss(true_optimum()))


def test_mode_max_finds_the_maximum():
    s = DirectSearcher(FACTORS, metric="score", mode="max")
    drive(s, result_of=lambda c: {"score": -loss(c)})
    assert s.best_config() == true_optimum()


def test_a_round_suggests_every_level_then_waits():
    s = DirectSearcher(FACTORS, metric="loss", fixed={"epochs": 5})
    batch, last = suggest_round(s, 0)
    assert last is None  # waiting for the round, not finished
    assert [c["a"] for _, c in batch] == list(FACTORS[0].levels)
    for _, c in batch:
        assert c["b"] == FACTORS[1].levels[0] and c["c"] == FACTORS[2].levels[0] and c["epochs"] == 5
    # still waiting while any trial of the round is pending
    for tid, c in batch[:-1]:
        s.on_trial_complete(tid, {"loss": loss(c)})
        assert s.suggest("extra") is None
    tid, c = batch[-1]
    s.on_trial_complete(tid, {"loss": loss(c)})
    nxt, _ = suggest_round(s, 100)
    # round of b, a now at its best; b's first level (the current best config) is not suggested again
    best_a = min(FACTORS[0].levels, key=lambda lv: EFFECTS["a"][lv])
    assert [c["b"] for _, c in nxt] == list(FACTORS[1].levels[1:])
    assert all(c["a"] == best_a for _, c in nxt)


def test_start_point_is_used():
    start = {"a": 1, "b": "y", "c": 4, "unknown": 0}
    s = DirectSearcher(FACTORS, metric="loss", start=start)
    batch, _ = suggest_round(s, 0)
    assert all(c["b"] == "y" and c["c"] == 4 and "unknown" not in c for _, c in batch)
    for tid, c in batch:
        s.on_trial_complete(tid, {"loss": loss(c)})
    drive(s, start_id=10)
    assert s.best_config() == true_optimum()


def test_configs_seen_before_are_not_suggested_again_across_passes():
    s = DirectSearcher(FACTORS, metric="loss", passes=2)
    seen, _ = drive(s)
    keys = [config_key(c) for c in seen]
    assert len(keys) == len(set(keys))
    assert s.best_config() == true_optimum()
    assert len(s.history) == 2 * len(FACTORS)
    assert s.max_trials() == 2 * sum(f.n_levels for f in FACTORS)


def test_layers_beyond_n_layers_count_as_the_same_config():
    facs = [Factor("n_layers", (1, 2), True), Factor("width_2", (8, 16, 32), True)]
    def obj(c):
        return {"loss": float(c["n_layers"])}  # 1 layer wins: width_2 does not matter

    s = DirectSearcher(facs, metric="loss", fixed={"width_1": 8})
    seen, _ = drive(s, result_of=obj)
    assert s.best_config()["n_layers"] == 1
    # the width_2 round of a 1-layer network has nothing new to train
    assert len(seen) == 2
    assert len({config_key(c) for c in seen}) == 2


@pytest.mark.parametrize("failure", ["error", "diverged", "nan", "missing"])
def test_a_failed_trial_counts_as_worst_and_the_search_goes_on(failure):
    # the level that would be best fails: the best of the remaining ones is chosen
    bad_c = true_optimum()["c"]

    def result_of(cfg):
        if cfg["c"] == bad_c:
            return {"error": "error", "diverged": {"loss": 0.0, "diverged": True},
                    "nan": {"loss": math.nan}, "missing": {"other": 1.0}}[failure]
        return {"loss": loss(cfg)}

    s = DirectSearcher(FACTORS, metric="loss")
    drive(s, result_of=result_of)
    assert s.finished
    expected = dict(true_optimum())
    expected["c"] = min((lv for lv in FACTORS[2].levels if lv != bad_c), key=lambda lv: EFFECTS["c"][lv])
    assert s.best_config() == expected
    assert s.history[-1]["values"][repr(bad_c)] is None


def test_a_round_where_every_trial_fails_keeps_the_current_level():
    s = DirectSearcher(FACTORS, metric="loss")
    start_c = FACTORS[2].levels[0]
    drive(s, result_of=lambda c: "error" if c["c"] != start_c else {"loss": loss(c)})
    assert s.best_config()["c"] == start_c
    assert s.best_config()["a"] == true_optimum()["a"] and s.best_config()["b"] == true_optimum()["b"]


def test_every_trial_failing_still_finishes_at_the_start():
    s = DirectSearcher(FACTORS, metric="loss")
    seen, _ = drive(s, result_of=lambda c: "error")
    assert s.finished and s.suggest("late") == Searcher.FINISHED
    assert s.best_config() == {f.name: f.levels[0] for f in FACTORS}
    assert len(seen) == len({config_key(c) for c in seen})


def test_replayed_from_finished_results_it_continues_to_the_same_result():
    """A resumed study replays the trials of its table into a fresh searcher (no pickle)."""
    ref = DirectSearcher(FACTORS, metric="loss")
    ref_seen, _ = drive(ref)

    s = DirectSearcher(FACTORS, metric="loss")
    first, next_id = drive(s, stop_after_rounds=2)
    # the last round (factor c) in flight: suggested, one completed, the others lost with the process
    batch, last = suggest_round(s, next_id)
    assert last is None and len(batch) == FACTORS[2].n_levels - 1
    finished = {config_key(c): {"loss": loss(c)} for c in first + [batch[0][1]]}

    fresh = ReplaySearcher(DirectSearcher(FACTORS, metric="loss"), finished, config_key)
    assert fresh.n_replayed == len(first) + 1
    rest, _ = drive(fresh, start_id=1000)
    assert fresh.inner.finished
    assert fresh.best_config() == ref.best_config() == true_optimum()
    # the lost trials run again, nothing finished runs twice
    assert [config_key(c) for c in rest] == [config_key(c) for _, c in batch[1:]]
    assert fresh.history == ref.history


def test_history_json_is_written_per_round(tmp_path):
    import json

    path = tmp_path / "direct_history.json"
    s = DirectSearcher(FACTORS, metric="loss", history_json=path)
    drive(s)
    doc = json.loads(path.read_text())
    assert [r["factor"] for r in doc["rounds"]] == [f.name for f in FACTORS]
    assert doc["current"] == true_optimum()


@pytest.mark.parametrize("kwargs", [{"factors": []}, {"factors": FACTORS, "passes": 0}])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        DirectSearcher(metric="loss", **kwargs)


# ----------------------------------------------------------------------------- real Ray Tune
def test_direct_search_in_a_real_tune_run(ray_local, tmp_path):
    searcher = DirectSearcher(FACTORS, metric="loss")
    effects = EFFECTS

    def trainable(config):
        tune.report({"loss": sum(effects[f][config[f]] for f in effects)})

    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=searcher.max_trials(), reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="direct", verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    configs = [{f.name: r.config[f.name] for f in FACTORS} for r in results]
    assert len(configs) == sum(f.n_levels for f in FACTORS) - (len(FACTORS) - 1)
    assert len({config_key(c) for c in configs}) == len(configs), "a configuration was trained twice"
    assert searcher.finished
    assert searcher.best_config() == true_optimum()
    best = results.get_best_result(metric="loss", mode="min")
    assert {f.name: best.config[f.name] for f in FACTORS} == true_optimum()
    assert best.metrics["loss"] == pytest.approx(loss(true_optimum()))
