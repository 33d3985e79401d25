"""Method ``direct``: direct search, one hyperparameter at a time (a custom Tune searcher).

The factors are taken in ``method.order`` (default: the network, then the training
policy, as the search space lists them). For each, every level is trained
``method.repeats`` times with the other factors at their best so far (the levels of one
factor run in parallel); the best mean validation band-energy MAE fixes the factor.
Rounds are written to ``direct_rounds.json`` as they close.
"""

from __future__ import annotations

from typing import Any

from ..study.context import MethodOutcome, StudyContext
from .factors import all_factors
from .repeated_training import MODE, OBJECTIVE, objective_key
from .searchers import DirectSearcher
from .space import SearchSpace
from .trained_search import outcome_of, run_training_search

STAGE = "direct"


def check_method_config(m: dict[str, Any], space: SearchSpace) -> None:
    objective_key(m)
    make_searcher(m, space)


def make_searcher(m: dict[str, Any], space: SearchSpace, training: dict[str, Any] | None = None) -> DirectSearcher:
    """Searcher over ``method.order``; every factor starts at ``method.start``, else at its
    value in ``training`` when that is one of its levels, else at its first level. Factors
    not in the order keep their start value."""
    order = m.get("order")
    everything = all_factors(space)
    factors = all_factors(space, names=None if order in (None, "auto") else list(order))
    given = dict(m.get("start") or {})
    known = {f.name: f for f in everything}
    for k, v in given.items():
        if k not in known:
            raise ValueError(f"method.start.{k}: no such factor; the search space has {sorted(known)}")
        if v not in known[k].levels:
            raise ValueError(f"method.start.{k}={v!r} is not one of its levels {list(known[k].levels)}")
    training = training or {}
    start = {f.name: given.get(f.name, training[f.name] if training.get(f.name) in f.levels else f.levels[0])
             for f in everything}
    searched = {f.name for f in factors}
    return DirectSearcher(factors, metric=OBJECTIVE, mode=MODE, start={k: v for k, v in start.items() if k in searched},
                          fixed={k: v for k, v in start.items() if k not in searched}, passes=int(m.get("passes", 1)))


def run(ctx: StudyContext) -> MethodOutcome:
    rounds_path = ctx.study_dir / f"{STAGE}_rounds.json"
    searcher = make_searcher(ctx.method_cfg, ctx.space, ctx.cfg["training"])
    searcher.history_json = rounds_path
    print(f"[direct] {len(searcher.factors)} factors in order {[f.name for f in searcher.factors]}, "
          f"at most {searcher.max_trials()} trials, each trained {ctx.method_cfg.get('repeats', 1)}x", flush=True)
    stage = run_training_search(ctx, stage=STAGE, search_alg=searcher, num_samples=searcher.max_trials(),
                                expected=searcher.max_trials(), total_is_bound=True)
    return outcome_of(ctx, stage, plot_title="Direct search: validation error per trial",
                      details={"rounds": str(rounds_path)})


__all__ = ["run", "check_method_config", "make_searcher"]
