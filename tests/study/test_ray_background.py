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
starting = RayStarting(cluster(1))
if case == "use":
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
