"""Method ``oat``: orthogonal array tuning (a custom Tune searcher).

Factors: ``method.factors`` (a list of names from the search space), or ``auto``: every
factor with two or more levels, dropping training factors from the end of the list until
the array has at most ``method.max_rows`` rows (the dropped ones stay at their value in
``training``). Every row of a strength-2 orthogonal array over the factors is a trial
(trained ``method.repeats`` times); all rows may run at once. Range analysis then gives
each factor's best level and importance (``oat_analysis.json``, ``oat_effects.png``); with
``method.confirm`` the combined best levels are trained once more and the better of that
and the best row is chosen.
"""

from __future__ import annotations

from typing import Any

from ..study.context import MethodOutcome, StudyContext
from .factors import Factor, all_factors, candidate_of, training_of
from .orthogonal_arrays import orthogonal_array
from .repeated_training import MODE, OBJECTIVE, objective_key
from .searchers import OrthogonalArraySearcher
from .space import SearchSpace
from .trained_search import outcome_of, run_training_search

STAGE = "oat"


def choose_factors(m: dict[str, Any], space: SearchSpace) -> tuple[list[Factor], list[Factor]]:
    """(factors in the array, factors held fixed)."""
    names = m.get("factors", "auto")
    pool = all_factors(space)
    if names not in (None, "auto"):
        chosen = all_factors(space, names=list(names))
        return chosen, [f for f in pool if f not in chosen]
    chosen = [f for f in pool if f.n_levels > 1]
    max_rows = int(m.get("max_rows", 150))
    dropped: list[Factor] = []
    while len(orthogonal_array([f.n_levels for f in chosen])) > max_rows:
        training = [f for f in chosen if not f.is_architecture]
        if not training:
            raise ValueError(f"the orthogonal array over the architecture factors alone has more than "
                             f"method.max_rows={max_rows} rows; raise max_rows or list method.factors")
        chosen.remove(training[-1])
        dropped.append(training[-1])
    return chosen, [f for f in pool if f not in chosen]


def check_method_config(m: dict[str, Any], space: SearchSpace) -> None:
    objective_key(m)
    chosen, _ = choose_factors(m, space)
    if not chosen:
        raise ValueError("OAT has no factor with two or more levels to vary; list method.factors")


def run(ctx: StudyContext) -> MethodOutcome:
    m = ctx.method_cfg
    factors, held = choose_factors(m, ctx.space)
    training = ctx.cfg["training"]
    # factors not in the array: the network keeps the first level, the policy its value in `training`
    fixed = {f.name: training.get(f.name, f.levels[0]) for f in held}
    report_path = ctx.study_dir / f"{STAGE}_analysis.json"
    searcher = OrthogonalArraySearcher(factors, metric=OBJECTIVE, mode=MODE, fixed=fixed,
                                       confirm=bool(m.get("confirm", True)), report_json=report_path)
    print(f"[oat] orthogonal array {searcher.n_rows} rows x {len(factors)} factors "
          f"{[f'{f.name}({f.n_levels})' for f in factors]}; held fixed: {sorted(fixed)}", flush=True)
    stage = run_training_search(ctx, stage=STAGE, search_alg=searcher, num_samples=searcher.max_trials(),
                                expected=searcher.max_trials())
    import json

    from ..study.plots import plot_oat_effects

    analysis = json.loads(report_path.read_text()) if report_path.exists() else {}
    details: dict[str, Any] = {"n_rows": searcher.n_rows, "analysis": str(report_path)}
    if analysis.get("level_means"):
        details["effects_plot"] = str(plot_oat_effects(analysis, ctx.study_dir / f"{STAGE}_effects.png"))
        details["factor_ranking"] = ", ".join(analysis["ranking"])
    outcome = outcome_of(ctx, stage, plot_title="OAT: validation error per row", details=details)
    if not m.get("confirm", True) and analysis.get("combined_best"):
        # the paper's OAT: the combination of best levels, trained only in the final evaluation
        best = analysis["combined_best"]
        outcome.chosen = candidate_of(best)
        outcome.training = {**training, **training_of(best)}
        outcome.details["chosen_by"] = "range analysis (combined best levels, not trained in the search)"
    return outcome
