"""GPU fractions per trial from conf/cluster, and clear errors for GPUs a cluster lacks.

This machine has no GPU. The study test gives a real Ray node a *logical* GPU
(``num_gpus=1``): Ray then schedules and assigns it exactly as it would a real one (two
trials at 0.5 share GPU "0"), while the trials, finding no CUDA, compute on the CPU. What
runs on a real GPU is the same code with ``torch.cuda.is_available()`` true.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from composed_config import compose_config

from surrogate_hpo.errors import ConfigError
from surrogate_hpo.study.config import ClusterConfig
from surrogate_hpo.study.ray_runtime import check_cluster_can_host


def cluster(cpus=1, gpus=0.0, address="auto"):
    return ClusterConfig(address=address, num_cpus=None, cpus_per_trial=cpus, gpus_per_trial=gpus,
                         max_concurrent_trials=None, max_failures=0)

TWO_GPU_NODES = [{"CPU": 8.0, "GPU": 1.0}, {"CPU": 8.0, "GPU": 1.0}]


def test_fractions_fit_and_whole_gpus_must_fit_one_node():
    totals = {"CPU": 16.0, "GPU": 2.0}
    check_cluster_can_host(cluster(1, 0.25), totals, TWO_GPU_NODES)
    check_cluster_can_host(cluster(2, 1), totals, TWO_GPU_NODES)
    # 2 GPUs in the cluster, but never 2 on one node: a trial would wait forever
    with pytest.raises(ConfigError, match=r"no node .* cluster.gpus_per_trial=2 GPUs at once \(largest node: 8 CPUs, 1 GPUs"):
        check_cluster_can_host(cluster(1, 2), totals, TWO_GPU_NODES)
    with pytest.raises(ConfigError, match="has no GPU"):
        check_cluster_can_host(cluster(1, 0.5), {"CPU": 8.0}, [{"CPU": 8.0}])


def _trial_results(stage_dir):
    return [json.loads(line) for p in stage_dir.glob("*/result.json")
            for line in p.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_two_trials_share_one_gpu(synthetic_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    from ray_cluster_helpers import private_cluster

    from surrogate_hpo.experiment import run_study

    out = tmp_path / "out"
    run_dir = out / "naswot" / "run"
    with private_cluster({"num_cpus": 2, "num_gpus": 1}) as (cluster, _):
        base = ["data=mala_dir", f"data.path={synthetic_dir}", "search_space=small", "final_evaluation.seeds=2",
                "training.max_epochs=60", "training.early_stopping_patience=60", "method.candidates_per_trial=4",
                f"output_root={out}", f"cluster.address={cluster.address}", "cluster.cpus_per_trial=1"]
        with pytest.raises(ConfigError, match="no node of the Ray cluster has .*gpus_per_trial=2"):
            run_study(compose_config(base + ["cluster.gpus_per_trial=2"]), tmp_path / "refused")
        summary = run_study(compose_config(base + ["cluster.gpus_per_trial=0.5"]), run_dir)

    naswot = _trial_results(run_dir / "tune" / "naswot")
    assert {r["device"] for r in naswot} == {"cpu"}  # no CUDA here: the logical GPU is held, the CPU computes
    assert len({r["trial_id"] for r in naswot}) == 4
    assert {r["gpu_ids"] for r in naswot} == {"0"}  # every NASWOT trial held (half of) GPU 0
    final = pd.read_csv(run_dir / "final_trials.csv")
    assert len(final) == 2 and set(final["gpu_ids"].astype(str)) == {"0"}
    a, b = final.sort_values("started_at").to_dict("records")
    assert b["started_at"] < a["finished_at"], "the two final trainings did not run at the same time on GPU 0"
    compute = summary["compute"]
    assert compute["gpu_seconds"] == pytest.approx(0.5 * compute["cpu_seconds"], rel=1e-9)
    assert compute["gpu_seconds"] > 0


def test_a_local_trial_wanting_more_cpus_than_the_machine_is_refused_before_ray(capsys):
    import dataclasses
    import os

    from surrogate_hpo.study.ray_runtime import check_cluster

    cpus = os.cpu_count() or 1
    too_many = cluster(cpus + 1, address=None)
    with pytest.raises(ConfigError, match=rf"cluster.cpus_per_trial={cpus + 1} but this machine has {cpus} CPUs.*"
                                          rf"cluster.num_cpus={cpus + 1}, trials then share cores"):
        check_cluster(too_many)
    check_cluster(dataclasses.replace(too_many, num_cpus=cpus + 1))  # the suggested fix: a warning only
    assert "trials will share cores" in capsys.readouterr().err
    check_cluster(cluster(cpus + 1, address="auto"))  # a cluster's nodes are checked once Ray is up
