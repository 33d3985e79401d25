"""Method ``tpe_naswot``: TPE whose trials are pruned by a training-free score before training.

Each trial scores its untrained network first (the study's scoring, the same score and
settings as method ``naswot``) and reports it; :class:`NaswotThresholdScheduler` stops the
trial there when the score is below a threshold learned from the scores seen so far
(``method.quantile`` after ``method.warmup`` trials), or below ``method.threshold`` when one
is given. Trials that pass are trained ``method.repeats`` times like ``tpe``. A pruned
trial costs a score (milliseconds) instead of a training, and TPE is told it was pruned.
``tpe_naswot_trials.csv`` holds each trial's score, the threshold it met and whether it
was pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ...errors import ConfigError
from ...study.context import Outcome, StudyContext
from ...study.trials_table import PRUNED, TrialsTable, is_finite_number
from ..base import Method, ScoringConfig, TpeConfig
from ..scoring import make_scoring
from ..tune import NaswotThresholdScheduler
from .tpe import run_tpe_stage
from .trained_stage import outcome_of

__all__ = ["TpeNaswot", "TpeNaswotConfig"]

STAGE = "tpe_naswot"


@dataclass
class TpeNaswotConfig(TpeConfig, ScoringConfig):
    name: Literal["tpe_naswot"]
    quantile: float
    warmup: int
    threshold: float | None

    def check(self) -> None:
        ScoringConfig.check(self)
        if not 0.0 <= self.quantile <= 1.0:
            raise ConfigError(f"method.quantile={self.quantile} must lie in [0, 1]")
        if self.warmup < 0:
            raise ConfigError(f"method.warmup={self.warmup} must be >= 0")


def _history(rows: list[dict[str, Any]]) -> list[tuple[str, float, float | None, bool]]:
    """(trial id, score, threshold used, pruned) of the rows a resumed stage already has."""
    out = []
    for r in sorted(rows, key=lambda r: int(r.get("trial_number") or 0)):
        if is_finite_number(r.get("naswot_score")):
            thr = r.get("naswot_threshold")
            out.append((str(r["trial_id"]), float(r["naswot_score"]),
                        float(thr) if is_finite_number(thr) else None, r.get("status") == PRUNED))
    return out


class TpeNaswot(Method[TpeNaswotConfig]):
    name = "tpe_naswot"
    config_type = TpeNaswotConfig

    def describe(self) -> str:
        c = self.config
        rule = f"threshold {c.threshold:g}" if c.threshold is not None else f"quantile {c.quantile:g} after {c.warmup}"
        return f"TPE with a {c.score} pruner ({rule}), {c.n_trials} trials x {c.repeats} trainings"

    def run(self, study: StudyContext) -> Outcome:
        c = self.config
        scoring = make_scoring(c, study.require_data(), study.seed, first_widths=list(self.space.widths))
        rows = TrialsTable(study.study_dir, STAGE).rows
        scheduler = NaswotThresholdScheduler(quantile=c.quantile, warmup=c.warmup, threshold=c.threshold,
                                             history=_history(rows))

        def annotate(trial: Any) -> dict[str, Any]:
            d = scheduler.decisions.get(trial.trial_id)
            return {} if d is None else {"naswot_threshold": d["naswot_threshold"], "pruned": d["pruned"]}

        stage = run_tpe_stage(study, c, stage=STAGE, scoring=scoring, scheduler=scheduler, annotate=annotate)
        counts = stage.table.counts()
        return outcome_of(study, stage, c, plot_title=f"TPE with {c.score} pruner: validation error per trial",
                          details={
                              "n_pruned": counts.get(PRUNED, 0),
                              "final_threshold": scheduler.threshold(),
                              "threshold_rule": (f"fixed {c.threshold}" if c.threshold is not None else
                                                 f"quantile {c.quantile} of the scores seen, after {c.warmup} trials"),
                              "scoring": scoring.describe(),
                          })
