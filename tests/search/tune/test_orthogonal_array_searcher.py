"""OrthogonalArraySearcher: rows of a strength-2 array, range analysis, confirmation run."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from ray import tune
from ray.tune.search import Searcher

from surrogate_hpo.search.factors import Factor
from surrogate_hpo.search.orthogonal_arrays import is_orthogonal, orthogonal_array
from surrogate_hpo.search.tune import OrthogonalArraySearcher, config_key
from surrogate_hpo.study.resume import ReplaySearcher

FACTORS = [
    Factor("lr", (1e-4, 1e-3, 1e-2), False),
    Factor("act", ("relu", "tanh", "sigmoid"), True),
    Factor("width", (8, 16, 32), True),
    Factor("bs", (16, 32, 64), False),
]
# additive loss; factor "width" has the biggest effect, "bs" the smallest
EFFECTS = {
    "lr": {1e-4: 1.0, 1e-3: 0.0, 1e-2: 2.0},
    "act": {"relu": 0.5, "tanh": 0.0, "sigmoid": 1.5},
    "width": {8: 6.0, 16: 3.0, 32: 0.0},
    "bs": {16: 0.2, 32: 0.1, 64: 0.0},
}


def loss(cfg, effects=EFFECTS):
    return sum(effects[f][cfg[f]] for f in effects)


def optimum(effects=EFFECTS):
    return {f: min(e, key=e.get) for f, e in effects.items()}


def level_indices(configs, factors=FACTORS):
    return np.array([[f.levels.index(c[f.name]) for f in factors] for c in configs])


def suggest_all(s, prefix="t"):
    out, i = [], 0
    while True:
        cfg = s.suggest(f"{prefix}{i}")
        if cfg is None or cfg == Searcher.FINISHED:
            return out, cfg
        out.append((f"{prefix}{i}", cfg))
        i += 1


def test_rows_form_a_strength_2_array_and_analysis_waits_for_all():
    s = OrthogonalArraySearcher(FACTORS, metric="loss", fixed={"epochs": 3})
    rows, last = suggest_all(s)
    assert last is None
    assert len(rows) == s.n_rows == orthogonal_array([f.n_levels for f in FACTORS]).shape[0]
    assert s.max_trials() == s.n_rows + 1
    idx = level_indices([c for _, c in rows])
    assert is_orthogonal(idx, [f.n_levels for f in FACTORS])
    assert all(c["epochs"] == 3 for _, c in rows)
    # nothing new until every row has finished (in any order)
    for tid, cfg in rows[:0:-1]:
        s.on_trial_complete(tid, {"loss": loss(cfg)})
        assert s.suggest("wait") is None
        assert s.analysis is None
    s.on_trial_complete(rows[0][0], {"loss": loss(rows[0][1])})
    confirm = s.suggest("confirm")
    assert s.analysis is not None
    # additive loss: the combined best levels are the true optimum, which is not a row here
    assert {k: confirm[k] for k in EFFECTS} == optimum()
    assert confirm["epochs"] == 3
    assert optimum() not in [{k: c[k] for k in EFFECTS} for _, c in rows]
    # suggested once: then it waits for it, then finishes
    assert s.suggest("again") is None
    s.on_trial_complete("confirm", {"loss": loss(confirm)})
    assert s.suggest("after") == Searcher.FINISHED
    assert s.confirmation_state == "done"
    assert s.confirmation_loss == pytest.approx(loss(optimum()))


def test_report_contents():
    s = OrthogonalArraySearcher(FACTORS, metric="loss")
    rows, _ = suggest_all(s)
    for tid, cfg in rows:
        s.on_trial_complete(tid, {"loss": loss(cfg)})
    before = s.report()
    assert "ranking" not in before and before["confirmation"] == "waiting"
    confirm = s.suggest("c")
    s.on_trial_complete("c", {"loss": loss(confirm)})
    rep = json.loads(json.dumps(s.report()))  # JSON-ready
    assert rep["factors"] == [f.name for f in FACTORS]
    assert rep["levels"] == [list(f.levels) for f in FACTORS]
    assert rep["losses"] == pytest.approx([loss(c) for _, c in rows])
    assert rep["best_levels"] == optimum()
    assert rep["combined_best"] == optimum()
    ranges = {f: max(e.values()) - min(e.values()) for f, e in EFFECTS.items()}
    assert rep["ranking"] == sorted(ranges, key=ranges.get, reverse=True)
    assert rep["ranking"][0] == "width"
    for f, r in ranges.items():  # orthogonality: level-mean ranges equal the effects' ranges
        assert rep["importance"][f] == pytest.approx(r)
    for j, f in enumerate(FACTORS):
        means = rep["level_means"][j]
        offsets = [m - EFFECTS[f.name][lv] for m, lv in zip(means, f.levels)]
        assert offsets == pytest.approx([offsets[0]] * len(offsets))
    row_losses = [loss(c) for _, c in rows]
    assert rep["best_row"] == int(np.argmin(row_losses))
    assert rep["best_row_loss"] == pytest.approx(min(row_losses))
    assert rep["confirmation"] == "done"
    assert rep["confirmation_loss"] == pytest.approx(loss(optimum()))
    assert rep["confirmation_loss"] < rep["best_row_loss"]
    assert rep["n_failed_rows"] == 0


def test_no_confirmation_when_the_combined_best_is_a_row():
    s = OrthogonalArraySearcher(FACTORS, metric="loss")
    arr = s.array
    # effects whose best levels are exactly row 4 of the array
    target = arr[4]
    effects = {f.name: {lv: abs(i - int(target[j])) * (j + 1.0) for i, lv in enumerate(f.levels)}
               for j, f in enumerate(FACTORS)}
    rows, _ = suggest_all(s)
    for tid, cfg in rows:
        s.on_trial_complete(tid, {"loss": loss(cfg, effects)})
    assert s.suggest("next") == Searcher.FINISHED
    assert s.confirmation_state == "not needed: combined best is row 4"
    assert s.combined_best_config() == s.row_config(4) == optimum(effects)
    assert s.report()["best_row"] == 4


def test_confirm_false_finishes_after_the_rows():
    s = OrthogonalArraySearcher(FACTORS, metric="loss", confirm=False)
    assert s.max_trials() == s.n_rows
    rows, _ = suggest_all(s)
    for tid, cfg in rows:
        s.on_trial_complete(tid, {"loss": loss(cfg)})
    assert s.suggest("x") == Searcher.FINISHED
    assert s.confirmation_state == "not needed"
    assert s.combined_best_config() == optimum()


def test_failed_rows_are_counted_and_left_out():
    s = OrthogonalArraySearcher(FACTORS, metric="loss")
    rows, _ = suggest_all(s)
    failures = {0: dict(error=True), 3: dict(result={"loss": 0.0, "diverged": True}),
                5: dict(result={"loss": math.nan})}
    for r, (tid, cfg) in enumerate(rows):
        kw = failures.get(r, dict(result={"loss": loss(cfg)}))
        s.on_trial_complete(tid, kw.get("result"), error=kw.get("error", False))
    s.suggest("confirm")
    rep = s.report()
    assert rep["n_failed_rows"] == len(failures)
    assert [i for i, v in enumerate(rep["losses"]) if v is None] == sorted(failures)
    ok = [loss(c) for r, (_, c) in enumerate(rows) if r not in failures]
    assert rep["best_row_loss"] == pytest.approx(min(ok))


def test_every_row_failing_skips_the_analysis():
    s = OrthogonalArraySearcher(FACTORS, metric="loss")
    rows, _ = suggest_all(s)
    for tid, _ in rows:
        s.on_trial_complete(tid, None, error=True)
    assert s.suggest("x") == Searcher.FINISHED
    assert s.confirmation_state == "skipped: no row finished"
    rep = s.report()
    assert rep["best_row"] is None and "ranking" not in rep
    with pytest.raises(RuntimeError):
        s.combined_best_config()


def test_failed_confirmation_is_reported(tmp_path):
    path = tmp_path / "oat.json"
    s = OrthogonalArraySearcher(FACTORS, metric="loss", report_json=path)
    rows, _ = suggest_all(s)
    for tid, cfg in rows:
        s.on_trial_complete(tid, {"loss": loss(cfg)})
    s.suggest("c")
    written = json.loads(path.read_text())  # written once the analysis is known
    assert written["combined_best"] == optimum() and written["ranking"][0] == "width"
    s.on_trial_complete("c", {"loss": math.nan})
    assert s.suggest("d") == Searcher.FINISHED
    doc = json.loads(path.read_text())
    assert doc["confirmation"] == "failed" and doc["confirmation_loss"] is None
    assert doc["ranking"][0] == "width"


def test_replayed_from_half_the_rows_it_runs_only_the_other_half():
    s = OrthogonalArraySearcher(FACTORS, metric="loss")
    rows, _ = suggest_all(s)
    half = len(rows) // 2
    finished = {config_key(cfg): {"loss": loss(cfg)} for _, cfg in rows[:half]}
    fresh = ReplaySearcher(OrthogonalArraySearcher(FACTORS, metric="loss"), finished, config_key)
    assert fresh.n_replayed == half
    again, last = suggest_all(fresh)
    assert [c for _, c in again] == [c for _, c in rows[half:]] and last is None
    for tid, cfg in again:
        fresh.on_trial_complete(tid, {"loss": loss(cfg)})
    confirm = fresh.suggest("c")
    assert confirm == optimum()
    fresh.on_trial_complete("c", {"loss": loss(confirm)})
    assert fresh.suggest("e") == Searcher.FINISHED
    assert fresh.report()["losses"] == pytest.approx([loss(c) for _, c in rows])


def test_invalid_arguments():
    with pytest.raises(ValueError, match="mode='min'"):
        OrthogonalArraySearcher(FACTORS, metric="loss", mode="max")
    with pytest.raises(ValueError):
        OrthogonalArraySearcher([], metric="loss")


@pytest.mark.parametrize("levels", [[2, 2, 4, 4, 4, 3, 3, 3], [2, 3, 3, 3, 3], [4, 4, 2, 2, 2, 2, 2],
                                    [3, 2, 2, 2, 2, 2, 2], [5, 2, 2]])
def test_more_mixed_level_sets_are_strength_2(levels):
    arr = orthogonal_array(levels)
    assert arr.shape[1] == len(levels) and arr.shape[0] <= math.prod(levels)
    n = arr.shape[0]
    for i, j in itertools.combinations(range(len(levels)), 2):
        pairs = {}
        for a, b in zip(arr[:, i], arr[:, j]):
            pairs[(a, b)] = pairs.get((a, b), 0) + 1
        assert set(pairs) == set(itertools.product(range(levels[i]), range(levels[j])))
        assert set(pairs.values()) == {n // (levels[i] * levels[j])}
    assert is_orthogonal(arr, levels)
    # the searcher over factors with these level counts suggests exactly these rows
    facs = [Factor(f"f{j}", tuple(range(m)), False) for j, m in enumerate(levels)]
    s = OrthogonalArraySearcher(facs, metric="loss")
    rows, last = suggest_all(s)
    assert last is None and len(rows) == n
    assert is_orthogonal(level_indices([c for _, c in rows], facs), levels)


# ----------------------------------------------------------------------------- real Ray Tune
def test_oat_in_a_real_tune_run(ray_local, tmp_path):
    facs = [Factor("p", (0, 1), False), Factor("q", ("u", "v"), False), Factor("r", (10, 20), False)]
    effects = {"p": {0: 0.0, 1: 1.0}, "q": {"u": 0.0, "v": 3.0}, "r": {10: 0.5, 20: 0.0}}
    searcher = OrthogonalArraySearcher(facs, metric="loss")
    rows = {tuple(sorted(searcher.row_config(r).items())) for r in range(searcher.n_rows)}

    def trainable(config):
        tune.report({"loss": sum(effects[f][config[f]] for f in effects)})

    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=searcher.max_trials(), reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="oat", verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    configs = [{f.name: r.config[f.name] for f in facs} for r in results]
    best = optimum(effects)
    assert best not in [dict(r) for r in rows]
    # every row once, plus the confirmation run of the combined best
    assert len(configs) == searcher.n_rows + 1
    assert {tuple(sorted(c.items())) for c in configs} == rows | {tuple(sorted(best.items()))}
    assert is_orthogonal(level_indices([c for c in configs if c != best], facs), [2, 2, 2])
    assert searcher.confirmation_state == "done"
    assert searcher.confirmation_loss == pytest.approx(loss(best, effects))
    assert searcher.report()["ranking"][0] == "q"
