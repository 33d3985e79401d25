"""Run one Tune stage of a study: the common Tuner plumbing.

Every call builds a fresh Tuner: a resumed study does not restore Tune's pickled state,
it hands the stage only the work that is not in its trials table yet (see
:mod:`.resume`). Each run of a stage gets its own experiment folder under
``<study>/tune`` (``<stage>``, then ``<stage>-2`` after a resume ...) with the trials' logs
and error files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ray import tune
from ray.tune.search import ConcurrencyLimiter

from . import interrupt
from .config import ClusterConfig
from .ray_runtime import record_local_processes, trial_resources
from .time_account import stage_split

__all__ = ["concurrent_slots", "run_stage"]

#: Tune saves its experiment state at most this often (s). Nothing here reads it back
#: (resume works from the trials tables), so it is kept for Tune's own bookkeeping only.
EXPERIMENT_STATE_PERIOD_S = "600"


def concurrent_slots(cluster: ClusterConfig) -> int:
    """Trials that can run at once on the connected cluster (CPUs / cpus_per_trial, capped by
    ``cluster.max_concurrent_trials``)."""
    import ray

    cpus = float(ray.cluster_resources().get("CPU", 1.0)) if ray.is_initialized() else 1.0
    slots = max(1, int(cpus // max(cluster.cpus_per_trial, 1e-9)))
    return min(slots, cluster.max_concurrent_trials or slots)


class _StageClock(tune.Callback):
    """Each trial's span: when Tune reported it started (``on_trial_start``, once its actor
    runs it: an actor's own start is before that, in the stage's trial start), when its
    function began (from its last result), how long the function ran, and when Tune saw it
    end (unix s, s)."""

    def __init__(self) -> None:
        self.launched: dict[str, float] = {}
        self.spans: list[dict[str, Any]] = []

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.launched[trial.trial_id] = time.time()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        r = trial.last_result or {}
        inside = float(r.get("time_total_s", 0.0) or 0.0)
        if r.get("timestamp"):
            began = float(r["timestamp"]) - inside
            self.spans.append({"trial_id": trial.trial_id, "launched": self.launched.get(trial.trial_id, began),
                               "began": began, "seconds": inside, "ended": time.time()})

    on_trial_error = on_trial_complete

    @property
    def trials(self) -> list[tuple[float, float]]:
        return [(s["began"], s["seconds"]) for s in self.spans]


def _experiment_name(storage: Path, stage: str) -> str:
    if not (storage / stage).exists():
        return stage
    n = 2
    while (storage / f"{stage}-{n}").exists():
        n += 1
    return f"{stage}-{n}"


def run_stage(
    trainable: Callable[..., Any],
    *,
    stage: str,
    storage: Path,
    cluster: ClusterConfig,
    param_space: dict[str, Any],
    callbacks: Sequence[tune.Callback],
    search_alg: Any = None,
    scheduler: Any = None,
    num_samples: int = 1,
) -> tune.ResultGrid:
    """Fit a Tuner for ``stage`` under ``storage``.

    Trials hold ``cluster.cpus_per_trial``/``gpus_per_trial``; actors are reused; a failed
    trial is retried ``cluster.max_failures`` times and then recorded, never fatal. A
    SIGINT/SIGTERM ends the stage with every finished trial recorded, then raises
    :class:`~.interrupt.StudyInterrupted`.
    """
    record_local_processes()
    resources = {k: v for k, v in trial_resources(cluster).items() if v > 0}
    storage = Path(storage).resolve()
    storage.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", EXPERIMENT_STATE_PERIOD_S)
    config: dict[str, Any] = {"reuse_actors": True, "num_samples": num_samples}
    if search_alg is not None:
        # Tune lets a custom searcher have one trial pending unless it knows the concurrency
        config["search_alg"] = ConcurrencyLimiter(search_alg, max_concurrent=concurrent_slots(cluster))
    if scheduler is not None:
        config["scheduler"] = scheduler
    if cluster.max_concurrent_trials:
        config["max_concurrent_trials"] = int(cluster.max_concurrent_trials)
    clock = _StageClock()
    tuner = tune.Tuner(
        tune.with_resources(trainable, resources),
        param_space=param_space,
        tune_config=tune.TuneConfig(**config),
        run_config=tune.RunConfig(
            name=_experiment_name(storage, stage),
            storage_path=str(storage),
            callbacks=[*callbacks, clock],
            stop=interrupt.interrupt_stopper(),
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=int(cluster.max_failures)),
        ),
    )
    t0, began = time.perf_counter(), time.time()
    with interrupt.deferred(f"stage '{stage}'"):
        results = tuner.fit()
    split = stage_split(stage, time.perf_counter() - t0, began, clock.trials, concurrent_slots(cluster))
    split["trial_spans"] = clock.spans  # per trial: benchmarks split each trial's own overhead
    return results
