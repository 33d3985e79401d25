"""One Tune stage of trained trials driven by a searcher (and optionally a scheduler).

Shared by direct search, TPE, TPE+NASWOT, OAT and the policy stage of NASWOT (optimised):
the same trial function (:func:`~surrogate_hpo.search.repeated_training.repeated_training_trial`),
the same trials table (written as trials end), the same progress lines, the same plot of
the objective per trial, and the same answer (best configuration -> network + policy).

Resume: the stage reads its table back; ``make_searcher(rows)`` builds a searcher that
already knows those trials (replayed or added to Optuna), and Tune runs only the rest.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ray import tune

from ...model import Architecture
from ...study.background_plots import draw_later
from ...study.context import Outcome, StudyContext
from ...study.plots import plot_search_trials
from ...study.progress import ProgressPrinter
from ...study.trials_table import (
    DIVERGED,
    ERROR,
    OK,
    PRUNED,
    TableWriter,
    TrialsTable,
    compute_of_rows,
    is_finite_number,
)
from ...study.tune_stage import run_stage
from ..base import TrainedSearchConfig
from ..factors import candidate_of, describe_config, training_of
from ..repeated_training import (
    METRIC,
    MODE,
    OBJECTIVE,
    OBJECTIVES,
    repeated_training_trial,
)
from ..scoring import Scoring

__all__ = ["SearchStage", "finished_results", "outcome_of", "run_trained_stage", "trial_status"]

INCOMPLETE = "incomplete"


def trial_status(trial: Any, result: dict[str, Any]) -> str:
    """``ok``, ``diverged``, ``pruned``, ``error`` or ``incomplete`` (stopped by an interruption)."""
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
    if result.get("diverged"):
        return DIVERGED
    if "naswot_score" in result and not result.get("repeats_done"):
        return PRUNED
    return None


def _trial_counter(trial: Any) -> int:
    """Tune's running trial counter (1, 2, ...), the head of ``experiment_tag``; 0 if absent."""
    try:
        return int(str(getattr(trial, "experiment_tag", "")).split("_", 1)[0])
    except ValueError:
        return 0


_KEPT = ("val_band_energy_mae_std", "val_loss_mean", "repeats_done", "repeats", "per_repeat_json", "epochs_json",
         "train_seconds", "naswot_score", "naswot_seconds", "naswot_threshold")


def make_rows_of(shape: tuple[int, int], default_network: Architecture | None, offset: int,
                 annotate: Callable[[Any], dict[str, Any]] | None = None) -> Callable[[Any], list[dict[str, Any]]]:
    """``rows_of`` for :class:`TableWriter`: one row per trial; ``annotate(trial)`` adds columns."""
    n_in, n_out = shape

    def rows_of(trial: Any) -> list[dict[str, Any]]:
        r = trial.last_result or {}
        status = trial_status(trial, r)
        if status == INCOMPLETE:
            return []  # stopped by an interruption: it runs again when the study resumes
        config = {k: (v.item() if hasattr(v, "item") else v) for k, v in trial.config.items()}
        cand = candidate_of(config, default=default_network)
        row: dict[str, Any] = {
            "trial_id": trial.trial_id,
            "trial_number": offset + _trial_counter(trial),
            "status": status,
            OBJECTIVE: r.get(OBJECTIVE) if status == OK else None,
            METRIC: r.get(METRIC) if status == OK else None,
            "architecture": cand.describe(),
            "n_parameters": cand.n_parameters(n_in, n_out),
            **{f"config.{k}": v for k, v in config.items()},
            "config_json": json.dumps(config),  # exact types, read back on resume
        }
        row.update({k: r[k] for k in _KEPT if k in r})
        if status == ERROR:
            row["error"] = str(getattr(trial, "error_file", "") or "")
        if annotate is not None:
            row.update(annotate(trial))
        return [row]

    return rows_of


def config_of_row(row: dict[str, Any]) -> dict[str, Any]:
    """The flat trial config stored in a table row."""
    return json.loads(row["config_json"])


def finished_results(rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(config, result)`` of every finished row, as a searcher is told them."""
    out = []
    for row in sorted(rows, key=lambda r: int(r.get("trial_number") or 0)):
        status = row.get("status")
        result: dict[str, Any] = {"diverged": status == DIVERGED}
        if status == OK:
            result[OBJECTIVE] = float(row[OBJECTIVE])
        out.append((config_of_row(row), {**result, "status": status}))
    return out


@dataclass
class SearchStage:
    """What a training-based stage produced."""

    table: TrialsTable
    wall_seconds: float
    compute: dict[str, float]
    n_resumed: int

    @property
    def best_row(self) -> dict[str, Any] | None:
        return self.table.best()

    @property
    def best_config(self) -> dict[str, Any]:
        if self.best_row is None:
            raise RuntimeError(f"no trial of stage '{self.table.stage}' finished with a finite error; "
                               f"see {self.table.csv_path}")
        return config_of_row(self.best_row)


def run_trained_stage(study: StudyContext, config: TrainedSearchConfig, *, stage: str,
                      make_searcher: Callable[[list[dict[str, Any]]], Any], max_trials: int,
                      default_network: Architecture | None = None, scoring: Scoring | None = None,
                      scheduler: Any = None, annotate: Callable[[Any], dict[str, Any]] | None = None,
                      total_is_bound: bool = False) -> SearchStage:
    """Run ``stage``: trials from ``make_searcher(finished rows)``, each trained ``config.repeats`` times."""
    data = study.require_data()
    table = TrialsTable(study.study_dir, stage, metric=OBJECTIVE, mode=MODE)
    done = [r for r in table.rows if r.get("status") in (OK, DIVERGED, PRUNED, ERROR)]
    searcher = make_searcher(done)
    todo = max(0, max_trials - len(done))
    if done:
        print(f"[{stage}] resuming: {len(done)} trials in {table.parquet_path.name}, {todo} to go", flush=True)
    progress = ProgressPrinter(
        stage, max_trials, unit="trials", mode=MODE, min_interval_s=0.0, already=len(done),
        best_of=lambda r: (float(r[OBJECTIVE]), f"trial {r.get('trial_id', '?')}")
        if is_finite_number(r.get(OBJECTIVE)) and r.get("repeats_done") == r.get("repeats") else None,
        tally_of=_tally_label, total_is_bound=total_is_bound,
    )
    writer = TableWriter(table, make_rows_of((data.n_features, data.n_energies), default_network, len(done),
                                             annotate))
    trainable = tune.with_parameters(
        repeated_training_trial, data=data, policy=study.training, repeats=config.repeats, seed=study.seed,
        objective=OBJECTIVES[config.objective], threads=max(1, int(study.cluster.cpus_per_trial)),
        default_network=default_network, scoring=scoring, space=study.space if scoring is not None else None,
    )
    t0 = time.perf_counter()
    if todo:
        run_stage(trainable, stage=stage, storage=study.tune_dir(), cluster=study.cluster, param_space={},
                  callbacks=[writer, progress], search_alg=searcher, scheduler=scheduler, num_samples=todo)
    wall = time.perf_counter() - t0
    if done and not total_is_bound and len(table.rows) < max_trials:
        print(f"[{stage}] warning: the resumed stage ended with {len(table.rows)} of {max_trials} trials",
              file=sys.stderr, flush=True)
    compute = compute_of_rows(table.rows, study.cluster.cpus_per_trial, study.cluster.gpus_per_trial)
    return SearchStage(table, wall, compute, len(done))


_OBJECTIVE_LABEL = {"val_band_energy_mae": "validation band-energy MAE (meV/atom)",
                    "val_loss": "validation loss (MSE, scaled)"}


def outcome_of(study: StudyContext, stage: SearchStage, config: TrainedSearchConfig, *,
               default_network: Architecture | None = None, details: dict[str, Any] | None = None,
               plot_title: str = "") -> Outcome:
    """The chosen network and policy of a finished stage, its plot and bookkeeping."""
    best = stage.best_config
    chosen = candidate_of(best, default=default_network)
    plot = draw_later(plot_search_trials, study.study_dir / f"{stage.table.stage}_trials.png", stage.table.frame(),
                      metric=OBJECTIVE, title=plot_title or stage.table.stage,
                      ylabel=_OBJECTIVE_LABEL[config.objective])
    info = {
        "n_trials": len(stage.table.rows),
        "trial_status": json.dumps(stage.table.counts()),
        "best_trial": stage.best_row.get("trial_id") if stage.best_row else None,
        "objective": config.objective,
        "best_objective": float(stage.best_row[OBJECTIVE]) if stage.best_row else None,
        "best_config": describe_config(best),
        "search_wall_seconds": stage.wall_seconds,
        "trials_csv": str(stage.table.csv_path),
        "plot": str(plot),
        **(details or {}),
    }
    return Outcome(architecture=chosen, training=training_of(best), objective=info["best_objective"],
                   details=info, compute=stage.compute)
