"""Run (or resume) one Tune experiment of a study: the common Tuner plumbing."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ray import tune

from .atomic_fs import atomic_local_filesystem
from .resources import trial_resources

#: Tune saves its experiment state (trial statuses, searcher state) at most this often (s);
#: 0 = after every step of its loop, so a trial that has ended is on disk before the
#: next one is reported, and a killed study resumes without running it again.
CHECKPOINT_PERIOD_S = "0"


class StageInterrupted(RuntimeError):
    """The Tune stage stopped early (Ctrl-C / SIGINT): its state is saved, resume it."""


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
    storage = Path(storage).resolve()
    path = storage / name
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", CHECKPOINT_PERIOD_S)
    if resume and tune.Tuner.can_restore(str(path)):
        tuner = tune.Tuner.restore(str(path), trainable=wrapped, resume_errored=True, param_space=param_space,
                                   storage_filesystem=atomic_local_filesystem())
        _use_callbacks(tuner, callbacks)
        return _fit(tuner, name, path)
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
            # files reach the storage path whole: a study killed mid-copy stays resumable
            storage_filesystem=atomic_local_filesystem(),
            callbacks=list(callbacks),
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=int(cluster.get("max_failures", 0) or 0)),
        ),
    )
    return _fit(tuner, name, path)


def _use_callbacks(tuner: tune.Tuner, callbacks: Sequence[tune.Callback]) -> None:
    """Give a restored Tuner this run's callbacks.

    ``Tuner.restore`` takes the callbacks pickled when the study began (their state as it
    was then) and has no argument to replace them; the caller holds fresh ones (a results
    writer that read the rows on disk, a progress printer that knows the total), so they
    go into the restored run configuration, and what the method reads from them afterwards
    (rows, best trial) covers every trial. ``_local_tuner``: Ray has no public way to do
    this; in Ray client mode (no local Tuner) the callbacks run on the cluster anyway.
    """
    local = getattr(tuner, "_local_tuner", None)
    if local is not None:
        local.get_run_config().callbacks = list(callbacks)


def _fit(tuner: tune.Tuner, name: str, path: Path) -> tune.ResultGrid:
    """``tuner.fit()``, raising StageInterrupted when Tune stopped on SIGINT.

    Tune catches SIGINT itself, saves its state and returns normally; it then puts back the
    handler it found. So on the main thread, finding our own handler back after ``fit``
    means the stage was interrupted.
    """
    on_main = threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGINT) if on_main else None
    results = tuner.fit()
    if on_main:
        now = signal.getsignal(signal.SIGINT)
        if now is before and not int(os.getenv("TUNE_DISABLE_SIGINT_HANDLER", "0")):
            raise StageInterrupted(f"stage '{name}' was interrupted; its state is saved in {path}. "
                                   f"Continue the study with resume=true")
        signal.signal(signal.SIGINT, before)  # Tune leaves its handler installed after a normal end
    return results


def compute_spent(results: tune.ResultGrid, cluster: dict[str, Any]) -> dict[str, float]:
    """CPU- and GPU-seconds summed over the trials of ``results`` (time x resources)."""
    res = trial_resources(cluster)
    seconds = 0.0
    for r in results:
        seconds += float((r.metrics or {}).get("time_total_s", 0.0) or 0.0)
    return {"cpu_seconds": seconds * res["cpu"], "gpu_seconds": seconds * res["gpu"], "trial_seconds": seconds}
