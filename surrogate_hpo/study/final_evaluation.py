"""Final evaluation, as in the paper: train the chosen network with several seeds, report
the test MAE of band energy and total free energy (meV/atom, mean and spread)."""

from __future__ import annotations

import math
import shutil
import time
from typing import Any

import numpy as np
from ray import tune

from ..search.space import Candidate
from ..search.training_trial import train_and_evaluate
from .context import StudyContext
from .progress import ProgressPrinter
from .results import ResultsWriter
from .tune_run import compute_spent, run_tune_stage

STAGE = "final"
_METRICS = ("test_band_energy_mae_mev_per_atom", "test_total_free_energy_mae_mev_per_atom",
            "val_band_energy_mae_mev_per_atom")


def _rows_of(trial: Any) -> list[dict[str, Any]]:
    r = trial.last_result or {}
    row = {"trial_id": trial.trial_id, "seed": trial.config.get("seed"), "status": "ok" if trial.status != "ERROR" else "error"}
    for key in ("diverged", "epochs", "best_val_loss", "train_seconds", "train_rows_per_epoch", "streamed",
                "device", "gpu_ids", "started_at", "finished_at", "time_total_s", *_METRICS,
                "test_band_energy_errors_mev_per_atom", "test_total_free_energy_errors_mev_per_atom"):
        if key in r:
            row[key] = r[key]
    return [row]


def _spread(values: list[float]) -> dict[str, float]:
    vals = [v for v in values if math.isfinite(v)]
    if not vals:
        return {"mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan, "n": 0}
    a = np.asarray(vals)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max()), "n": len(vals)}


def run_final_evaluation(ctx: StudyContext, chosen: Candidate, training: dict[str, Any]) -> dict[str, Any]:
    """Train ``chosen`` with ``final_evaluation.seeds`` seeds in parallel; summarise test errors."""
    n_seeds = int(ctx.cfg.get("final_evaluation", {}).get("seeds", 5))
    seeds = [ctx.seed + i for i in range(n_seeds)]
    writer = ResultsWriter(ctx.study_dir, STAGE, _rows_of, metric="test_band_energy_mae_mev_per_atom",
                           mode="min", key=("seed",))
    progress = ProgressPrinter(STAGE, n_seeds, unit="trainings", mode="min", min_interval_s=0.0,
                               best_of=lambda r: (float(r["test_band_energy_mae_mev_per_atom"]), f"seed {r.get('seed')}")
                               if "test_band_energy_mae_mev_per_atom" in r else None)
    print(f"[final] training {chosen.describe()} with {n_seeds} seeds "
          f"(max {training.get('max_epochs')} epochs each)", flush=True)
    t0 = time.perf_counter()
    trainable = tune.with_parameters(
        train_and_evaluate, architecture=chosen.to_dict(), training=training, data=ctx.data,
        threads=int(ctx.cluster_cfg.get("cpus_per_trial", 1)),
    )
    results = run_tune_stage(
        trainable, name=STAGE, storage=ctx.tune_dir(), cluster=ctx.cluster_cfg, resume=ctx.resume,
        param_space={"seed": tune.grid_search(seeds)}, callbacks=[writer, progress],
    )
    wall = time.perf_counter() - t0
    rows = [r for r in writer.rows if r.get("status") == "ok"]
    if not rows:
        raise RuntimeError(f"every final training failed; the errors are in {ctx.tune_dir() / STAGE}/*/error.txt")
    summary: dict[str, Any] = {"seeds": seeds, "wall_seconds": wall, "compute": compute_spent(results, ctx.cluster_cfg)}
    for key in _METRICS:
        summary[key] = _spread([float(r[key]) for r in rows if key in r and r[key] is not None])
    summary["n_diverged"] = int(sum(bool(r.get("diverged")) for r in rows))
    if rows:
        from .plots import plot_final_errors

        summary["plot"] = str(plot_final_errors(writer.frame(), ctx.study_dir / "final_errors.png"))
    best = writer.best_row()
    if best is not None:
        summary["best_seed"] = best.get("seed")
        _copy_best_checkpoint(results, best.get("seed"), ctx)
    return summary


def _copy_best_checkpoint(results: tune.ResultGrid, seed: Any, ctx: StudyContext) -> None:
    """Copy the best seed's checkpoint to ``<study>/model/`` (model.pt with scalers)."""
    for r in results:
        if r.config.get("seed") == seed and r.checkpoint is not None:
            dest = ctx.study_dir / "model"
            if dest.exists():
                shutil.rmtree(dest)
            r.checkpoint.to_directory(str(dest))
            return
