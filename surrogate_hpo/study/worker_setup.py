"""Warm Ray workers: import the heavy modules trials need when a worker process starts.

Passed to ``ray.init`` as ``runtime_env={"worker_process_setup_hook": ...}``. Ray starts
its worker pool at ``ray.init``; with the hook those workers import torch and Ray Tune
while the driver is still loading data, so the first trials of a stage start at once
instead of each paying several seconds of imports (see benchmarks/naswot_tune_overhead.py).
"""

from __future__ import annotations


def preload_imports() -> None:
    """Import torch, Ray Tune and the trial functions' modules."""
    import torch  # noqa: F401
    from ray import tune  # noqa: F401

    import surrogate_hpo.search.naswot  # noqa: F401
    import surrogate_hpo.search.training_trial  # noqa: F401
