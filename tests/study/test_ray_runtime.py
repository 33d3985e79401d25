"""A local study's Ray: private (a stale RAY_ADDRESS is ignored) and closed (token auth)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from surrogate_hpo.study.config import ClusterConfig

START = (
    "from surrogate_hpo.study.config import ClusterConfig\n"
    "from surrogate_hpo.study.ray_runtime import start_ray\n"
    "start_ray(ClusterConfig(address=None, num_cpus=1, cpus_per_trial=1, gpus_per_trial=0,"
    " max_concurrent_trials=None, max_failures=0))\n"
)


def test_null_address_ignores_a_stale_ray_address():
    # RAY_ADDRESS left over from a cluster session (here: a port nobody listens on) must not
    # make a local study try to join it (Ray then also refuses num_cpus for a "cluster")
    env = {**os.environ, "RAY_ADDRESS": "127.0.0.1:9"}
    script = START + "import ray\nprint('CPUS', ray.cluster_resources()['CPU'])\nray.shutdown()\n"
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "CPUS 1.0" in proc.stdout


@pytest.mark.slow
def test_a_client_without_the_study_token_is_refused(tmp_path):
    """Start a study's Ray (with RAY_AUTH_MODE=disabled exported, as a user might) and connect
    from another process: with auth off and with a wrong token it is refused; with the
    study's own token it gets in (so the refusal is the token's doing)."""
    script = START + (
        "import os, sys, ray\n"
        "print('GCS', ray.get_runtime_context().gcs_address, flush=True)\n"
        "print('TOKEN', os.environ['RAY_AUTH_TOKEN'], flush=True)\n"
        "sys.stdin.read()\nray.shutdown()\n")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    study = subprocess.Popen([sys.executable, "-c", script], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        gcs = token = None
        for line in study.stdout:
            if line.startswith("GCS "):
                gcs = line.split()[1]
            if line.startswith("TOKEN "):
                token = line.split()[1]
                break
        assert gcs and token and len(token) == 64
        probe = ("import ray; ray.init(address='%s', logging_level='ERROR');"
                 "print('IN', ray.get(ray.remote(lambda: 41).remote()) + 1)" % gcs)
        base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
        base["HOME"] = str(tmp_path)  # no ~/.ray/auth_token of this machine
        for extra, allowed in (({"RAY_AUTH_MODE": "disabled"}, False),
                               ({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 64}, False),
                               ({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}, True)):
            p = subprocess.run([sys.executable, "-c", probe], env={**base, **extra}, capture_output=True, text=True,
                               timeout=180)
            assert ("IN 42" in p.stdout) == allowed, (extra, p.stdout[-500:], p.stderr[-1500:])
    finally:
        study.stdin.close()
        study.wait(timeout=60)


def test_cluster_config_checks():
    from surrogate_hpo.errors import ConfigError
    from surrogate_hpo.util.typed_config import parse

    base = {"address": None, "num_cpus": 2, "cpus_per_trial": 1, "gpus_per_trial": 0, "max_concurrent_trials": None,
            "max_failures": 0}
    assert parse(ClusterConfig, base, "cluster").is_local
    for bad, words in (({"cpus_per_trial": 0}, "cluster.cpus_per_trial=0 must be > 0"),
                       ({"cpus_per_trial": 4}, "exceeds cluster.num_cpus=2"),
                       ({"gpus_per_trial": 1.5}, "above 1 a trial takes whole GPUs"),
                       ({"max_failures": -1}, "cluster.max_failures=-1 must be >= 0"),
                       ({"num_cpu": 2}, "did you mean cluster.num_cpus")):
        with pytest.raises(ConfigError) as e:
            parse(ClusterConfig, {**base, **bad}, "cluster")
        assert words in str(e.value)
