"""Method ``tpe_naswot``: TPE whose trials are pruned by their NASWOT score before training.

Each trial scores its untrained network first (NASWOT mean score, the same batch and
settings as method ``naswot``) and reports it; :class:`NaswotThresholdScheduler` stops the
trial there when the score is below a threshold learned from the scores seen so far
(``method.quantile`` after ``method.warmup`` trials), or below ``method.threshold`` when one
is given. Trials that pass are trained ``method.repeats`` times like ``tpe``. A pruned
trial costs a NASWOT score (milliseconds) instead of a training, and TPE is told it was
pruned. ``<stage>_trials.csv`` holds each trial's score, the threshold it met and whether
it was pruned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..study.context import MethodOutcome, StudyContext
from .repeated_training import NaswotGate
from .searchers import NaswotThresholdScheduler
from .space import SearchSpace
from .tpe import check_method_config as _check_tpe
from .tpe import run_tpe_stage
from .trained_search import PRUNED, outcome_of

STAGE = "tpe_naswot"


def check_method_config(m: dict[str, Any], space: SearchSpace) -> None:
    _check_tpe(m, space)
    make_scheduler(m)  # range checks of quantile / warmup


def make_scheduler(m: dict[str, Any], history_csv: Path | None = None) -> NaswotThresholdScheduler:
    thr = m.get("threshold")
    return NaswotThresholdScheduler(quantile=float(m.get("quantile", 0.5)), warmup=int(m.get("warmup", 5)),
                                    threshold=None if thr is None else float(thr), history_csv=history_csv)


def naswot_gate(ctx: StudyContext) -> NaswotGate:
    m = ctx.method_cfg
    batch_size = min(int(m.get("batch_size", 64)), ctx.data.n_features)  # B <= F (DESIGN.md §5)
    return NaswotGate(batch=ctx.data.naswot_batch(batch_size, ctx.seed), n_inits=int(m.get("n_inits", 5)),
                      k=float(m.get("k", 1e-5)), seed=ctx.seed)


def run(ctx: StudyContext) -> MethodOutcome:
    m = ctx.method_cfg
    # on resume Tune hands back the scheduler pickled at the start; it re-reads this table
    scheduler = make_scheduler(m, history_csv=ctx.study_dir / f"{STAGE}_trials.csv")

    def annotate(trial: Any) -> dict[str, Any]:
        d = scheduler.decisions.get(trial.trial_id)
        return {} if d is None else {"naswot_threshold": d["naswot_threshold"], "pruned": d["pruned"]}

    stage = run_tpe_stage(ctx, stage=STAGE, n_trials=int(m.get("n_trials", 30)), naswot=naswot_gate(ctx),
                          scheduler=scheduler, annotate=annotate)
    counts = stage.counts()
    scheduler.read_history()  # after a resume, Tune ran its own copy: learn the final state from the table
    return outcome_of(ctx, stage, plot_title="TPE with NASWOT pruner: validation error per trial", details={
        "n_pruned": counts.get(PRUNED, 0),
        "final_threshold": scheduler.threshold(),
        "threshold_rule": (f"fixed {scheduler.fixed_threshold}" if scheduler.fixed_threshold is not None
                           else f"quantile {scheduler.quantile} of the scores seen, after {scheduler.warmup} trials"),
    })
