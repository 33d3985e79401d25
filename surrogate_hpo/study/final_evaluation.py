"""Final evaluation, as in the paper: train the chosen network with several seeds and report
the test MAE of band energy and total free energy (meV/atom, mean and spread).

The model kept in ``<study>/model/`` is the seed with the lowest **validation** band-energy
error (the test snapshots choose nothing). Each seed's checkpoint is kept in
``<study>/final/seed_<n>/`` as its training ends, so a resumed study trains only the seeds
that are missing.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from ray import tune

from ..inference.bundle import METADATA
from ..model import Architecture, TrainingConfig
from ..util.atomic import read_json, replace_dir, temporary_path, write_json
from ..util.json_safe import json_safe
from .background_plots import draw_later
from .context import StudyContext
from .model_bundle import bundle_metadata, descriptor_settings
from .plots import plot_final_errors
from .progress import ProgressPrinter
from .training_trial import train_and_evaluate
from .trials_table import TableWriter, TrialsTable, compute_of_rows, is_finite_number
from .tune_stage import run_stage

__all__ = ["run_final_evaluation"]

STAGE = "final"
SELECTED_BY = "val_band_energy_mae_mev_per_atom"
_METRICS = ("test_band_energy_mae_mev_per_atom", "test_total_free_energy_mae_mev_per_atom", SELECTED_BY)
_KEPT = ("diverged", "epochs", "reached_epoch_cap", "best_val_loss", "train_seconds", "train_rows_per_epoch",
         "streamed", "device", "gpu_ids", "started_at", "finished_at", *_METRICS, "test_fermi_fallbacks",
         "test_band_energy_errors_mev_per_atom", "test_total_free_energy_errors_mev_per_atom",
         "test_total_free_energy_missing")


def _rows_of(trial: Any) -> list[dict[str, Any]]:
    r = trial.last_result or {}
    if "seed" not in r and trial.status != "ERROR":
        return []  # interrupted before the end: trained again on resume
    row = {"trial_id": trial.trial_id, "seed": int(trial.config["seed"]),
           "status": "error" if trial.status == "ERROR" else ("diverged" if r.get("diverged") else "ok")}
    row.update({k: r[k] for k in _KEPT if k in r})
    return [row]


def _keeper(study_dir: Path) -> tune.Callback:
    """Callback: each seed's checkpoint into ``<study>/final/seed_<n>/`` when it is saved."""

    class Keeper(tune.Callback):
        def on_checkpoint(self, iteration: int, trials: list, trial: Any, checkpoint: Any, **info: Any) -> None:
            dest = study_dir / STAGE / f"seed_{int(trial.config['seed'])}"
            tmp = temporary_path(dest)
            checkpoint.to_directory(str(tmp))
            replace_dir(tmp, dest)

    return Keeper()


def _spread(values: list[float]) -> dict[str, float | int | None]:
    vals = [v for v in values if math.isfinite(v)]
    if not vals:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    a = np.asarray(vals)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max()), "n": len(vals)}


def run_final_evaluation(study: StudyContext, architecture: Architecture, policy: TrainingConfig,
                         descriptors: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``architecture`` with ``final_evaluation.seeds`` seeds in parallel; summarise the
    test errors; keep the seed of lowest validation error as the model bundle ``<study>/model``
    (``descriptors``: the method's descriptor choice, if it made one)."""
    data = study.require_data()
    bundle = bundle_metadata(study, descriptor_settings(study, descriptors))
    seeds = [study.seed + i for i in range(study.config.final_evaluation.seeds)]
    table = TrialsTable(study.study_dir, STAGE, key=("seed",), metric=SELECTED_BY, mode="min")
    have = {int(r["seed"]) for r in table.rows if r.get("status") in ("ok", "diverged")
            and (r.get("status") == "diverged" or (study.study_dir / STAGE / f"seed_{int(r['seed'])}").is_dir())}
    todo = [s for s in seeds if s not in have]
    progress = ProgressPrinter(STAGE, len(seeds), unit="trainings", mode="min", min_interval_s=0.0,
                               already=len(seeds) - len(todo),
                               best_of=lambda r: (float(r[SELECTED_BY]), f"seed {r.get('seed')} (validation)")
                               if is_finite_number(r.get(SELECTED_BY)) else None)
    print(f"[final] training {architecture.describe()} with {len(seeds)} seeds (max {policy.max_epochs} epochs "
          f"each){f'; {len(seeds) - len(todo)} done before' if len(todo) < len(seeds) else ''}", flush=True)
    t0 = time.perf_counter()
    if todo:
        trainable = tune.with_parameters(train_and_evaluate, architecture=architecture, policy=policy, data=data,
                                         threads=max(1, int(study.cluster.cpus_per_trial)), bundle=bundle)
        run_stage(trainable, stage=STAGE, storage=study.tune_dir(), cluster=study.cluster,
                  param_space={"seed": tune.grid_search(todo)},
                  callbacks=[TableWriter(table, _rows_of), _keeper(study.study_dir), progress])
    wall = time.perf_counter() - t0
    rows = [r for r in table.rows if r.get("status") == "ok" and int(r["seed"]) in seeds]
    if not rows:
        raise RuntimeError(f"every final training failed or diverged; the errors are in {study.tune_dir() / STAGE}-*/")
    summary: dict[str, Any] = {"seeds": seeds, "wall_seconds": wall,
                               "compute": compute_of_rows(table.rows, study.cluster.cpus_per_trial,
                                                          study.cluster.gpus_per_trial)}
    for key in _METRICS:
        summary[key] = _spread([float(r[key]) for r in rows if is_finite_number(r.get(key))])
    summary["n_diverged"] = sum(r.get("status") == "diverged" for r in table.rows)
    summary["n_reached_epoch_cap"] = sum(bool(r.get("reached_epoch_cap")) for r in rows)
    missing = next((r["test_total_free_energy_missing"] for r in rows if r.get("test_total_free_energy_missing")), None)
    if missing:
        summary["test_total_free_energy_missing"] = missing
    summary["plot"] = str(draw_later(plot_final_errors, study.study_dir / "final_errors.png", table.frame()))
    best = table.best()
    if best is not None:
        summary["saved_seed"] = int(best["seed"])
        summary["saved_model_selected_by"] = "lowest validation band-energy MAE over the seeds"
        src = study.study_dir / STAGE / f"seed_{int(best['seed'])}"
        if src.is_dir():
            tmp = temporary_path(study.study_dir / "model")
            shutil.copytree(src, tmp)
            if (tmp / METADATA).is_file():
                meta = read_json(tmp / METADATA)
                meta["selected_by"] = f"lowest validation band-energy MAE of {len(rows)} seeds"
                meta["final_evaluation"] = {k: summary[k] for k in _METRICS}
                write_json(tmp / METADATA, json_safe(meta))
            replace_dir(tmp, study.study_dir / "model")
            summary["model"] = str(study.study_dir / "model")
    return summary
