"""Method ``tpe``: Optuna's TPE over the whole search space, as a Tune searcher.

Each trial is one configuration trained ``method.repeats`` times (default 3); the mean
validation band-energy MAE is what TPE sees. The sampler is seeded (``seed``) and its
state is saved with Tune's experiment state, so ``resume=true`` continues the same
sampler. The Optuna trials are also exported to ``<stage>_optuna.csv`` as they finish.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..study.context import MethodOutcome, StudyContext
from .factors import optuna_distributions
from .repeated_training import MODE, OBJECTIVE, NaswotGate, objective_key
from .searchers import FinalValueOptunaSearch
from .space import Candidate, SearchSpace
from .trained_search import SearchStage, outcome_of, run_training_search

STAGE = "tpe"


def check_method_config(m: dict[str, Any], space: SearchSpace) -> None:
    objective_key(m)
    if int(m.get("n_trials", 1)) < 1:
        raise ValueError(f"method.n_trials must be >= 1, got {m.get('n_trials')}")
    if int(m.get("repeats", 1)) < 1:
        raise ValueError(f"method.repeats must be >= 1, got {m.get('repeats')}")


def make_searcher(space: SearchSpace, *, seed: int, n_startup_trials: int, export_csv: Path | None = None,
                  architecture: bool = True, training: bool = True) -> FinalValueOptunaSearch:
    """Seeded TPE over the architecture and/or training factors of ``space``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
    return FinalValueOptunaSearch(
        space=optuna_distributions(space, architecture=architecture, training=training),
        metric=OBJECTIVE, mode=MODE, sampler=sampler, export_csv=export_csv,
    )


def run_tpe_stage(ctx: StudyContext, *, stage: str, n_trials: int, architecture: bool = True, training: bool = True,
                  default_network: Candidate | None = None, naswot: NaswotGate | None = None,
                  scheduler: Any = None, annotate: Any = None) -> SearchStage:
    m = ctx.method_cfg
    searcher = make_searcher(ctx.space, seed=ctx.seed, n_startup_trials=int(m.get("n_startup_trials", 5)),
                             export_csv=ctx.study_dir / f"{stage}_optuna.csv",
                             architecture=architecture, training=training)
    print(f"[{stage}] TPE: {n_trials} trials, each trained {m.get('repeats', 1)}x "
          f"({'network + ' if architecture else ''}{'training policy' if training else ''})", flush=True)
    return run_training_search(ctx, stage=stage, search_alg=searcher, num_samples=n_trials, expected=n_trials,
                               scheduler=scheduler, default_network=default_network, naswot=naswot,
                               annotate=annotate)


def run(ctx: StudyContext) -> MethodOutcome:
    stage = run_tpe_stage(ctx, stage=STAGE, n_trials=int(ctx.method_cfg.get("n_trials", 30)))
    return outcome_of(ctx, stage, plot_title="TPE: validation band-energy error per trial")
