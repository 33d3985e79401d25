"""Method ``tpe``: Optuna's TPE over the whole search space (network and training policy).

Each trial is one configuration trained ``method.repeats`` times; TPE sees the mean of
``method.objective``. The sampler is seeded per trial, so ``resume=true`` (which hands TPE
the trials of the table) continues as the uninterrupted study would. Optuna's own trial
table is exported to ``<stage>_optuna.csv`` as trials finish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ...model import Architecture
from ...study.context import Outcome, StudyContext
from ..base import Method, TpeConfig
from ..factors import optuna_distributions
from ..repeated_training import MODE, OBJECTIVE
from ..scoring import Scoring
from ..space import SearchSpace
from ..tune import OptunaTPESearcher
from .trained_stage import SearchStage, finished_results, outcome_of, run_trained_stage

__all__ = ["Tpe", "TpeMethodConfig", "run_tpe_stage"]


@dataclass
class TpeMethodConfig(TpeConfig):
    name: Literal["tpe"]


def tpe_searcher(space: SearchSpace, config: TpeConfig, *, seed: int, rows: list[dict[str, Any]], export_csv: Any,
                 architecture: bool = True, training: bool = True) -> OptunaTPESearcher:
    """Seeded TPE over the architecture and/or training factors, told the finished ``rows``."""
    distributions = optuna_distributions(space, architecture=architecture, training=training)
    history = [(cfg, result["status"], result.get(OBJECTIVE)) for cfg, result in finished_results(rows)]
    return OptunaTPESearcher(distributions, metric=OBJECTIVE, mode=MODE, seed=seed,
                             n_startup_trials=config.n_startup_trials, history=history, export_csv=export_csv)


def run_tpe_stage(study: StudyContext, config: TpeConfig, *, stage: str, architecture: bool = True,
                  training: bool = True, default_network: Architecture | None = None,
                  scoring: Scoring | None = None, scheduler: Any = None, annotate: Any = None) -> SearchStage:
    """A TPE stage of ``config.n_trials`` trials."""
    print(f"[{stage}] TPE: {config.n_trials} trials, each trained {config.repeats}x "
          f"({'network + ' if architecture else ''}{'training policy' if training else ''})", flush=True)
    return run_trained_stage(
        study, config, stage=stage, max_trials=config.n_trials, default_network=default_network, scoring=scoring,
        scheduler=scheduler, annotate=annotate,
        make_searcher=lambda rows: tpe_searcher(study.space, config, seed=study.seed, rows=rows,
                                                export_csv=study.study_dir / f"{stage}_optuna.csv",
                                                architecture=architecture, training=training))


class Tpe(Method[TpeMethodConfig]):
    name = "tpe"
    config_type = TpeMethodConfig

    def describe(self) -> str:
        return f"TPE, {self.config.n_trials} trials x {self.config.repeats} trainings"

    def run(self, study: StudyContext) -> Outcome:
        stage = run_tpe_stage(study, self.config, stage="tpe")
        return outcome_of(study, stage, self.config, plot_title="TPE: validation error per trial")
