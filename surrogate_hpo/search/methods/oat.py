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

import json
from dataclasses import dataclass
from typing import Any, Literal

from ...errors import ConfigError
from ...study.background_plots import draw_later
from ...study.context import Outcome, StudyContext
from ...study.plots import plot_oat_effects
from ...study.resume import ReplaySearcher
from ..base import Method, TrainedSearchConfig
from ..factors import Factor, all_factors, candidate_of, training_of
from ..orthogonal_arrays import orthogonal_array
from ..repeated_training import MODE, OBJECTIVE
from ..space import SearchSpace
from ..tune import OrthogonalArraySearcher, config_key
from .trained_stage import finished_results, outcome_of, run_trained_stage

__all__ = ["Oat", "OatConfig", "choose_factors"]

STAGE = "oat"


@dataclass
class OatConfig(TrainedSearchConfig):
    name: Literal["oat"]
    factors: list[str] | Literal["auto"]
    max_rows: int
    confirm: bool


def choose_factors(config: OatConfig, space: SearchSpace) -> tuple[list[Factor], list[Factor]]:
    """(factors in the array, factors held fixed)."""
    pool = all_factors(space)
    if config.factors != "auto":
        chosen = all_factors(space, names=list(config.factors))
        return chosen, [f for f in pool if f not in chosen]
    chosen = [f for f in pool if f.n_levels > 1]
    while len(orthogonal_array([f.n_levels for f in chosen])) > config.max_rows:
        training = [f for f in chosen if not f.is_architecture]
        if not training:
            raise ConfigError(f"the orthogonal array over the architecture factors alone has more than "
                              f"method.max_rows={config.max_rows} rows; raise max_rows or list method.factors")
        chosen.remove(training[-1])
    return chosen, [f for f in pool if f not in chosen]


class Oat(Method[OatConfig]):
    name = "oat"
    config_type = OatConfig

    def check(self) -> None:
        chosen, _ = choose_factors(self.config, self.space)
        if not chosen:
            raise ConfigError("OAT has no factor with two or more levels to vary; list method.factors")

    def describe(self) -> str:
        factors, _ = choose_factors(self.config, self.space)
        return f"orthogonal array over {len(factors)} factors"

    def run(self, study: StudyContext) -> Outcome:
        c = self.config
        factors, held = choose_factors(c, self.space)
        policy = study.training.to_dict()
        # factors not in the array: the network keeps the first level, the policy its value in `training`
        fixed = {f.name: policy.get(f.name, f.levels[0]) for f in held}
        report_path = study.study_dir / f"{STAGE}_analysis.json"
        inner = OrthogonalArraySearcher(factors, metric=OBJECTIVE, mode=MODE, fixed=fixed, confirm=c.confirm,
                                        report_json=report_path)
        print(f"[oat] orthogonal array {inner.n_rows} rows x {len(factors)} factors "
              f"{[f'{f.name}({f.n_levels})' for f in factors]}; held fixed: {sorted(fixed)}", flush=True)

        def searcher(rows: list[dict[str, Any]]) -> ReplaySearcher:
            return ReplaySearcher(inner, {config_key(cfg): r for cfg, r in finished_results(rows)}, config_key)

        stage = run_trained_stage(study, c, stage=STAGE, make_searcher=searcher, max_trials=inner.max_trials())
        analysis = json.loads(report_path.read_text()) if report_path.exists() else {}
        details: dict[str, Any] = {"n_rows": inner.n_rows, "analysis": str(report_path)}
        if analysis.get("level_means"):
            details["effects_plot"] = str(draw_later(plot_oat_effects, study.study_dir / f"{STAGE}_effects.png", analysis))
            details["factor_ranking"] = ", ".join(analysis["ranking"])
        outcome = outcome_of(study, stage, c, plot_title="OAT: validation error per row", details=details)
        if not c.confirm and analysis.get("combined_best"):
            # the paper's OAT: the combination of best levels, trained only in the final evaluation
            best = analysis["combined_best"]
            outcome.architecture = candidate_of(best)
            outcome.training = training_of(best)
            outcome.details["chosen_by"] = "range analysis (combined best levels, not trained in the search)"
        return outcome
