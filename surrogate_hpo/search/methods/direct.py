"""Method ``direct``: direct search, one hyperparameter at a time (a custom Tune searcher).

The factors are taken in ``method.order`` (default: the network, then the training
policy, as the search space lists them). For each, every level is trained
``method.repeats`` times with the other factors at their best so far (the levels of one
factor run in parallel); the best mean objective fixes it. Rounds are written to
``direct_rounds.json`` as they close. A resumed study replays the finished trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ...errors import ConfigError
from ...model import TrainingConfig
from ...study.context import Outcome, StudyContext
from ...study.resume import ReplaySearcher
from ..base import Method, TrainedSearchConfig
from ..factors import all_factors
from ..repeated_training import MODE, OBJECTIVE
from ..space import SearchSpace
from ..tune import DirectSearcher, config_key
from .trained_stage import finished_results, outcome_of, run_trained_stage

__all__ = ["Direct", "DirectConfig", "make_searcher"]

STAGE = "direct"


@dataclass
class DirectConfig(TrainedSearchConfig):
    name: Literal["direct"]
    order: list[str] | Literal["auto"]
    start: dict[str, Any]
    passes: int


def make_searcher(config: DirectConfig, space: SearchSpace, training: TrainingConfig | None = None) -> DirectSearcher:
    """Searcher over ``method.order``; every factor starts at ``method.start``, else at its
    value in ``training`` when that is one of its levels, else at its first level. Factors
    not in the order keep their start value."""
    everything = all_factors(space)
    factors = all_factors(space, names=None if config.order == "auto" else list(config.order))
    known = {f.name: f for f in everything}
    for k, v in config.start.items():
        if k not in known:
            raise ConfigError(f"method.start.{k}: no such factor; the search space has {sorted(known)}")
        if v not in known[k].levels:
            raise ConfigError(f"method.start.{k}={v!r} is not one of its levels {list(known[k].levels)}")
    policy = training.to_dict() if training is not None else {}
    start = {f.name: config.start.get(f.name, policy[f.name] if policy.get(f.name) in f.levels else f.levels[0])
             for f in everything}
    searched = {f.name for f in factors}
    if config.passes < 1:
        raise ConfigError(f"method.passes={config.passes} must be >= 1")
    return DirectSearcher(factors, metric=OBJECTIVE, mode=MODE, start={k: v for k, v in start.items() if k in searched},
                          fixed={k: v for k, v in start.items() if k not in searched}, passes=config.passes)


class Direct(Method[DirectConfig]):
    name = "direct"
    config_type = DirectConfig

    def check(self) -> None:
        make_searcher(self.config, self.space)

    def describe(self) -> str:
        s = make_searcher(self.config, self.space)
        return f"direct search over {len(s.factors)} factors, at most {s.max_trials()} trials"

    def run(self, study: StudyContext) -> Outcome:
        rounds = study.study_dir / f"{STAGE}_rounds.json"
        inner = make_searcher(self.config, self.space, study.training)
        inner.history_json = rounds
        print(f"[direct] {len(inner.factors)} factors in order {[f.name for f in inner.factors]}, at most "
              f"{inner.max_trials()} trials, each trained {self.config.repeats}x", flush=True)

        def searcher(rows: list[dict[str, Any]]) -> ReplaySearcher:
            return ReplaySearcher(inner, {config_key(c): r for c, r in finished_results(rows)}, config_key)

        stage = run_trained_stage(study, self.config, stage=STAGE, make_searcher=searcher,
                                  max_trials=inner.max_trials(), total_is_bound=True)
        return outcome_of(study, stage, self.config, plot_title="Direct search: validation error per trial",
                          details={"rounds": str(rounds)})
