"""Method ``naswot_optimized``: NASWOT picks the network, then a short TPE study tunes the
training policy of that network (one command, two Tune stages).

Stage ``naswot`` is method ``naswot`` unchanged (every architecture scored, no training).
Stage ``tpe_policy`` samples only the ``search_space.training`` parameters (learning rate,
batch size, optimizer, patience, decay) for ``method.n_trials`` trials of the chosen
network, each trained ``method.repeats`` times; the best policy goes to the final
evaluation. Compute and wall time are the sum of both stages.
"""

from __future__ import annotations

from typing import Any

from ..study.context import MethodOutcome, StudyContext
from . import naswot
from .space import SearchSpace
from .tpe import check_method_config as _check_tpe
from .tpe import run_tpe_stage
from .trained_search import outcome_of

STAGE = "tpe_policy"


def check_method_config(m: dict[str, Any], space: SearchSpace) -> None:
    _check_tpe(m, space)
    if not space.training:
        raise ValueError("naswot_optimized tunes search_space.training, which is empty; use method=naswot")


def run(ctx: StudyContext) -> MethodOutcome:
    first = naswot.run(ctx)
    print(f"[naswot_optimized] NASWOT chose {first.chosen.describe()}; tuning its training policy", flush=True)
    stage = run_tpe_stage(ctx, stage=STAGE, n_trials=int(ctx.method_cfg.get("n_trials", 12)), architecture=False,
                          default_network=first.chosen)
    out = outcome_of(ctx, stage, default_network=first.chosen,
                     plot_title=f"Training policy of {first.chosen.describe()} (TPE)",
                     details={f"naswot_{k}": v for k, v in first.details.items()
                              if k in ("n_candidates", "best_score", "search_wall_seconds", "plot")})
    out.chosen = first.chosen
    out.compute = {k: first.compute.get(k, 0.0) + stage.compute.get(k, 0.0) for k in ("cpu_seconds", "gpu_seconds")}
    return out
