"""Method ``naswot_optimized``: a training-free score picks the network, then a short TPE
study tunes that network's training policy (one command, two Tune stages).

Stage ``naswot`` is method ``naswot`` unchanged (every architecture scored, no training).
Stage ``tpe_policy`` samples only the ``search_space.training`` parameters for
``method.n_trials`` trials of the chosen network, each trained ``method.repeats`` times;
the best policy goes to the final evaluation. Compute is the sum of both stages.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import ConfigError
from ...study.context import Outcome, StudyContext
from ..base import Method, TpeConfig
from .naswot import NaswotConfig, score_grid
from .tpe import run_tpe_stage
from .trained_stage import outcome_of

__all__ = ["NaswotOptimized", "NaswotOptimizedConfig"]


@dataclass
class NaswotOptimizedConfig(NaswotConfig, TpeConfig):
    pass


class NaswotOptimized(Method[NaswotOptimizedConfig]):
    name = "naswot_optimized"
    config_type = NaswotOptimizedConfig

    def check(self) -> None:
        if not self.space.training:
            raise ConfigError("naswot_optimized tunes search_space.training, which is empty; use method=naswot")

    def describe(self) -> str:
        return (f"{self.config.score} over {self.space.n_candidates} architectures, then TPE of the policy "
                f"({self.config.n_trials} trials x {self.config.repeats} trainings)")

    def run(self, study: StudyContext) -> Outcome:
        chosen, first, compute = score_grid(study, self.config)
        print(f"[naswot_optimized] {self.config.score} chose {chosen.describe()}; tuning its training policy",
              flush=True)
        stage = run_tpe_stage(study, self.config, stage="tpe_policy", architecture=False, default_network=chosen)
        out = outcome_of(study, stage, self.config, default_network=chosen,
                         plot_title=f"Training policy of {chosen.describe()} (TPE)",
                         details={f"naswot_{k}": v for k, v in first.items()
                                  if k in ("n_candidates", "best_score", "search_wall_seconds", "plot")})
        out.architecture = chosen
        out.compute = {k: compute.get(k, 0.0) + stage.compute.get(k, 0.0) for k in ("cpu_seconds", "gpu_seconds")}
        return out
