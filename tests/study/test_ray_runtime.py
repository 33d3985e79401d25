"""``cluster.address: null`` starts a private local Ray, whatever the environment points at."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = (
    "from surrogate_hpo.study.resources import start_ray\n"
    "start_ray({'address': None, 'num_cpus': 1, 'cpus_per_trial': 1})\n"
    "import ray\n"
    "print('CPUS', ray.cluster_resources()['CPU'])\n"
    "ray.shutdown()\n"
)


def test_null_address_ignores_a_stale_ray_address():
    # RAY_ADDRESS left over from a cluster session (here: a port nobody listens on) must not
    # make a local study try to join it (Ray then also refuses num_cpus for a "cluster")
    env = {**os.environ, "RAY_ADDRESS": "127.0.0.1:9", "RAY_AUTH_MODE": "disabled"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CPUS 1.0" in proc.stdout
