"""Run (or resume) one Tune experiment of a study: the common Tuner plumbing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ray import tune

from .resources import trial_resources


def run_tune_stage(
    trainable: Callable[..., Any],
    *,
    name: str,
    storage: Path,
    param_space: dict[str, Any],
    cluster: dict[str, Any],
    callbacks: Sequence[tune.Callback],
    resume: bool,
    tune_config: dict[str, Any] | None = None,
) -> tune.ResultGrid:
    """Fit a Tuner named ``name`` under ``storage``; continue it if ``resume`` and it exists.

    Trials use ``cluster.cpus_per_trial``/``gpus_per_trial``; actors are reused; a failed
    trial is retried ``cluster.max_failures`` times and then recorded, never fatal.
    """
    resources = {k: v for k, v in trial_resources(cluster).items() if v > 0}
    wrapped = tune.with_resources(trainable, resources)
    path = storage / name
    if resume and tune.Tuner.can_restore(str(path)):
        tuner = tune.Tuner.restore(str(path), trainable=wrapped, resume_errored=True, param_space=param_space)
        return tuner.fit()
    cfg = dict(tune_config or {})
    cfg.setdefault("reuse_actors", True)
    if cluster.get("max_concurrent_trials"):
        cfg.setdefault("max_concurrent_trials", int(cluster["max_concurrent_trials"]))
    tuner = tune.Tuner(
        wrapped,
        param_space=param_space,
        tune_config=tune.TuneConfig(**cfg),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(storage),
            callbacks=list(callbacks),
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=int(cluster.get("max_failures", 0) or 0)),
        ),
    )
    return tuner.fit()


def compute_spent(results: tune.ResultGrid, cluster: dict[str, Any]) -> dict[str, float]:
    """CPU- and GPU-seconds summed over the trials of ``results`` (time x resources)."""
    res = trial_resources(cluster)
    seconds = 0.0
    for r in results:
        seconds += float((r.metrics or {}).get("time_total_s", 0.0) or 0.0)
    return {"cpu_seconds": seconds * res["cpu"], "gpu_seconds": seconds * res["gpu"], "trial_seconds": seconds}
