"""One Tune stage of trained trials driven by a searcher (and optionally a scheduler).

Shared by direct search, TPE, TPE+NASWOT and OAT: the same trial function
(:func:`.repeated_training.repeated_training_trial`), the same table of trials
(``<stage>_trials.csv/.parquet``, written as trials end), the same progress lines, the same
plot of the objective against trial number, and the same answer (best configuration ->
network + training policy).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ray import tune

from ..study.context import MethodOutcome, StudyContext
from ..study.progress import ProgressPrinter
from ..study.results import ResultsWriter, is_finite_number
from ..study.tune_run import compute_spent, run_tune_stage
from .factors import candidate_of, describe_config, training_of
from .repeated_training import METRIC, MODE, OBJECTIVE, NaswotGate, objective_key, repeated_training_trial
from .space import Candidate

#: status of a trial in the table
OK, DIVERGED, PRUNED, ERROR, INCOMPLETE = "ok", "diverged", "pruned", "error", "incomplete"


def trial_number(trial: Any) -> int:
    """Tune's running trial counter (1, 2, ...: the order the searcher proposed the trials),
    the head of the trial's ``experiment_tag`` (``"<counter>_<params>"``); -1 if absent."""
    try:
        return int(str(getattr(trial, "experiment_tag", "")).split("_", 1)[0])
    except ValueError:
        return -1


def trial_status(trial: Any, result: dict[str, Any]) -> str:
    if trial.status == "ERROR":
        return ERROR
    if result.get("diverged"):
        return DIVERGED
    repeats = result.get("repeats")
    if is_finite_number(result.get(OBJECTIVE)) and (repeats is None or result.get("repeats_done") == repeats):
        return OK
    if "naswot_score" in result and not result.get("repeats_done"):
        return PRUNED
    return INCOMPLETE


def _tally_label(result: dict[str, Any]) -> str | None:
    """Progress-line label of a trial that did not train to the end."""
    if result.get("diverged"):
        return DIVERGED
    if "naswot_score" in result and not result.get("repeats_done"):
        return PRUNED
    return None


def make_rows_of(data_shape: tuple[int, int], default_network: Candidate | None,
                 annotate: Callable[[Any], dict[str, Any]] | None = None):
    """``rows_of`` for ResultsWriter: one row per trial; ``annotate(trial)`` adds columns."""
    n_in, n_out = data_shape

    def rows_of(trial: Any) -> list[dict[str, Any]]:
        r = trial.last_result or {}
        status = trial_status(trial, r)
        if status == INCOMPLETE:
            return []  # stopped by an interruption: it runs again when the study resumes
        config = dict(trial.config)
        cand = candidate_of(config, default=default_network)
        row: dict[str, Any] = {
            "trial_id": trial.trial_id,
            "trial_number": trial_number(trial),
            "status": status,
            OBJECTIVE: r.get(OBJECTIVE) if status == OK else None,
            METRIC: r.get(METRIC) if status == OK else None,
            "architecture": cand.describe(),
            "n_parameters": cand.to_architecture().n_parameters(n_in, n_out),
            **{f"config.{k}": v for k, v in config.items()},
            "config_json": json.dumps(config, default=_plain),  # exact types, read back on resume
        }
        for key in ("val_band_energy_mae_std", "val_loss_mean", "repeats_done", "repeats", "per_repeat_json",
                    "epochs_json", "train_seconds", "naswot_score", "naswot_seconds", "naswot_threshold",
                    "time_total_s", "replayed"):
            if key in r:
                row[key] = r[key]
        if row["status"] == ERROR:
            row["error"] = str(getattr(trial, "error_file", "") or "")
        if annotate is not None:
            row.update(annotate(trial))
        return [row]

    return rows_of


def config_of_row(row: dict[str, Any]) -> dict[str, Any]:
    """The flat trial config stored in a table row."""
    return json.loads(row["config_json"])


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else str(v)


_REPLAYED = (METRIC, "val_band_energy_mae_std", "val_loss_mean", "repeats_done", "repeats", "per_repeat_json", "epochs_json",
             "train_seconds", "naswot_score", "naswot_seconds")


def finished_results(writer: ResultsWriter) -> dict[str, dict[str, Any]]:
    """Trial id -> the result it reported, for every finished trial in the table (see ``replay``
    in :func:`.repeated_training.repeated_training_trial`)."""
    out: dict[str, dict[str, Any]] = {}
    for row in writer.rows:
        status = row.get("status")
        if status not in (OK, DIVERGED, PRUNED):
            continue
        r: dict[str, Any] = {k: row[k] for k in _REPLAYED if k in row and is_finite_number(row[k])}
        r[OBJECTIVE] = float(row[OBJECTIVE]) if status == OK else math.nan
        r.setdefault(METRIC, math.nan)
        r["diverged"] = status == DIVERGED
        r["replayed"] = True
        for k in ("per_repeat_json", "epochs_json"):
            if isinstance(row.get(k), str):
                r[k] = row[k]
        if status == PRUNED:
            r["repeats_done"] = 0
        out[str(row["trial_id"])] = r
    return out


@dataclass
class SearchStage:
    """What a training-based stage produced."""

    writer: ResultsWriter
    results: tune.ResultGrid
    wall_seconds: float
    compute: dict[str, float]
    best_row: dict[str, Any] | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def best_config(self) -> dict[str, Any]:
        if self.best_row is None:
            raise RuntimeError(f"no trial of stage '{self.writer.stage}' finished with a finite error; "
                               f"see {self.writer.csv_path}")
        return config_of_row(self.best_row)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.writer.rows:
            out[str(r.get("status"))] = out.get(str(r.get("status")), 0) + 1
        return out


def run_training_search(ctx: StudyContext, *, stage: str, search_alg: Any, num_samples: int, expected: int,
                        scheduler: Any = None, default_network: Candidate | None = None,
                        naswot: NaswotGate | None = None, extra_callbacks: list[Any] | None = None,
                        annotate: Callable[[Any], dict[str, Any]] | None = None,
                        total_is_bound: bool = False) -> SearchStage:
    """Run the stage ``stage``: trials from ``search_alg`` trained ``method.repeats`` times."""
    m = ctx.method_cfg
    repeats = int(m.get("repeats", 1))
    if repeats < 1:
        raise ValueError(f"method.repeats must be >= 1, got {repeats}")
    writer = ResultsWriter(ctx.study_dir, stage, make_rows_of((ctx.data.n_features, ctx.data.n_energies),
                                                              default_network, annotate),
                           metric=OBJECTIVE, mode=MODE, key=("trial_id",))
    progress = ProgressPrinter(
        stage, expected, unit="trials", mode=MODE, min_interval_s=0.0,
        best_of=lambda r: (float(r[OBJECTIVE]), f"trial {r.get('trial_id', '?')}")
        if is_finite_number(r.get(OBJECTIVE)) and r.get("repeats_done") == r.get("repeats") else None,
        tally_of=_tally_label, total_is_bound=total_is_bound,
    )
    trainable = tune.with_parameters(
        repeated_training_trial, data=ctx.data, training=dict(ctx.cfg["training"]), repeats=repeats,
        seed=ctx.seed, threads=int(ctx.cluster_cfg.get("cpus_per_trial", 1)), default_network=default_network,
        naswot=naswot, replay=finished_results(writer) if ctx.resume else None, objective=objective_key(m),
    )
    t0 = time.perf_counter()
    results = run_tune_stage(
        trainable, name=stage, storage=ctx.tune_dir(), cluster=ctx.cluster_cfg, resume=ctx.resume,
        param_space={}, callbacks=[writer, progress, *(extra_callbacks or [])],
        tune_config={"search_alg": search_alg, "scheduler": scheduler, "num_samples": num_samples},
    )
    wall = time.perf_counter() - t0
    if ctx.resume and not total_is_bound and len(writer.rows) < expected:
        # Tune restores from the state it last copied to storage; a kill during that copy
        # can leave it older than the trials table, and the restored run may end early
        print(f"[{stage}] warning: the resumed study ended with {len(writer.rows)} of {expected} trials: "
              f"Tune's saved state was older than {writer.csv_path.name} (the study was killed while "
              "Tune saved it). The choice is made over the trials there are.", file=sys.stderr, flush=True)
    return SearchStage(writer, results, wall, compute_spent(results, ctx.cluster_cfg), writer.best_row())


_OBJECTIVE_LABEL = {METRIC: "validation band-energy MAE (meV/atom)", "val_loss_mean": "validation loss (MSE, scaled)"}


def outcome_of(ctx: StudyContext, stage: SearchStage, *, default_network: Candidate | None = None,
               details: dict[str, Any] | None = None, plot_title: str = "") -> MethodOutcome:
    """The chosen network and policy of a finished stage, its plot and bookkeeping."""
    from ..study.plots import plot_search_trials

    best = stage.best_config
    chosen = candidate_of(best, default=default_network)
    training = {**ctx.cfg["training"], **training_of(best)}
    plot = plot_search_trials(stage.writer.frame(), ctx.study_dir / f"{stage.writer.stage}_trials.png",
                              metric=OBJECTIVE, title=plot_title or stage.writer.stage,
                              ylabel=_OBJECTIVE_LABEL[objective_key(ctx.method_cfg)])
    info = {
        "n_trials": len(stage.writer.rows),
        "trial_status": json.dumps(stage.counts()),
        "best_trial": stage.best_row.get("trial_id") if stage.best_row else None,
        "objective": str(ctx.method_cfg.get("objective", "val_band_energy_mae")),
        "best_objective": float(stage.best_row[OBJECTIVE]) if stage.best_row else None,
        "best_config": describe_config(best),
        "search_wall_seconds": stage.wall_seconds,
        "trials_csv": str(stage.writer.csv_path),
        "plot": str(plot),
        **(details or {}),
    }
    return MethodOutcome(chosen=chosen, training=training, details=info, compute=stage.compute)


__all__ = ["SearchStage", "run_training_search", "outcome_of", "config_of_row", "trial_status", "trial_number",
           "OK", "DIVERGED", "PRUNED", "ERROR", "INCOMPLETE"]
