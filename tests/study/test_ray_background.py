"""Ray started in a background thread: usable from the main thread once up, its errors
raised in the main thread, shut down when the study stops before needing it."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, sys, time
from surrogate_hpo.study.config import ClusterConfig
from surrogate_hpo.study.ray_background import RayStarting
import ray

def cluster(cpus_per_trial):
    return ClusterConfig(address=None, num_cpus=1, cpus_per_trial=cpus_per_trial, gpus_per_trial=0,
                         max_concurrent_trials=None, max_failures=0)

case = sys.argv[1]
if case == "blas":
    import numpy as np
    from threadpoolctl import threadpool_info

    def blas_threads():
        return sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})

    print("BEFORE", blas_threads(), flush=True)
starting = RayStarting(cluster(1))
if case == "blas":
    print("STARTING", blas_threads(), flush=True)
    rows = np.random.default_rng(0).random((20000, 300))
    while not starting._done.is_set():  # what the main thread does meanwhile: BLAS calls
        rows @ rows[0]
    starting.wait()
    print("AFTER", blas_threads(), flush=True)
elif case == "use":
    print("CPUS", starting.wait()["CPU"], flush=True)
    time.sleep(1.0)  # Ray's processes outlive a moment of the main thread doing other work
    print("TASK", ray.get(ray.remote(lambda: os.getpid()).remote()) != os.getpid(), flush=True)
elif case == "cancel":
    starting.cancel()
    print("UP", ray.is_initialized(), flush=True)
elif case == "error":
    starting.wait()
    ray_starting = RayStarting(cluster(4))  # Ray is up already: only the check of the request fails
    try:
        ray_starting.wait()
    except Exception as e:
        print("RAISED", type(e).__name__, str(e)[:80], flush=True)
"""


def _run(case: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT, case], capture_output=True, text=True, timeout=180)


def test_ray_started_in_the_background_runs_tasks_for_the_main_thread():
    proc = _run("use")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CPUS 1.0" in proc.stdout and "TASK True" in proc.stdout
    assert "SIGTERM handler is not set" not in proc.stderr  # Ray's note about threads is filtered


def test_a_study_that_stops_before_needing_ray_shuts_it_down():
    proc = _run("cancel")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "UP False" in proc.stdout


def test_what_the_start_raises_is_raised_by_wait():
    proc = _run("error")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RAISED ConfigError cluster.cpus_per_trial=4 but the Ray cluster has only 1 CPUs" in proc.stdout


def test_blas_runs_on_one_thread_while_ray_starts_and_on_all_after():
    """OpenBLAS's fork handler stops its thread pool; a fork by the starting thread during a
    threaded BLAS call of the main thread hung a study for good (seen once in eight runs)."""
    proc = _run("blas")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    assert lines["STARTING"] == "[1]"
    assert lines["AFTER"] == lines["BEFORE"]
