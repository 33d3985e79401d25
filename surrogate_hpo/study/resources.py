"""Ray start-up and per-trial resources from ``conf/cluster``.

GPU requests are checked before Ray starts (local) or right after connecting (cluster), so
a study never sits silently PENDING waiting for a GPU that does not exist.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError


def local_gpu_count() -> int:
    """Number of CUDA devices torch sees on this machine (0 without CUDA)."""
    try:
        import torch

        return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
    except Exception:  # pragma: no cover - torch import problems surface elsewhere
        return 0


def trial_gpu_ids() -> list[str]:
    """IDs of the GPUs Ray assigned to the calling trial or task (empty outside Ray or without GPUs)."""
    try:
        import ray

        if not ray.is_initialized():
            return []
        return [str(g) for g in ray.get_runtime_context().get_accelerator_ids().get("GPU", [])]
    except Exception:  # pragma: no cover - outside a Ray worker
        return []


def trial_resources(cluster: Mapping[str, Any]) -> dict[str, float]:
    """``{"cpu": ..., "gpu": ...}`` for one trial."""
    return {"cpu": float(cluster.get("cpus_per_trial", 1)), "gpu": float(cluster.get("gpus_per_trial", 0) or 0)}


def check_cluster_config(cluster: Mapping[str, Any]) -> None:
    """Reject impossible resource requests before Ray starts (local Ray only)."""
    cpus = cluster.get("cpus_per_trial", 1)
    if cpus is None or float(cpus) <= 0:
        raise ConfigError(f"cluster.cpus_per_trial must be > 0, got {cpus}")
    gpus = float(cluster.get("gpus_per_trial", 0) or 0)
    if gpus < 0:
        raise ConfigError(f"cluster.gpus_per_trial must be >= 0, got {gpus}")
    if gpus > 1 and gpus != int(gpus):
        raise ConfigError(f"cluster.gpus_per_trial={gpus}: above 1 a trial takes whole GPUs; "
                          "use an integer, or a fraction <= 1 to share a GPU")
    num_cpus = cluster.get("num_cpus")
    if num_cpus is not None and float(cpus) > float(num_cpus):
        raise ConfigError(
            f"cluster.cpus_per_trial={cpus} exceeds cluster.num_cpus={num_cpus}: no trial could start"
        )
    if gpus > 0 and cluster.get("address") in (None, "", "local") and local_gpu_count() == 0:
        raise ConfigError(
            f"cluster.gpus_per_trial={gpus} but this machine has no CUDA GPU; "
            "set cluster.gpus_per_trial=0 or run on a cluster with GPUs (cluster.address=...)"
        )


def start_ray(cluster: Mapping[str, Any]) -> None:
    """Start (or connect to) Ray, quietly, and check the cluster can host one trial."""
    address = cluster.get("address")
    if address in (None, "", "local"):
        # a private local Ray: no auth token written under ~/.ray. A cluster keeps its own
        # mode: with RAY_AUTH_MODE unset, Ray uses ~/.ray/auth_token when the cluster has one
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    import ray

    if ray.is_initialized():
        return
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        # trial output stays in Tune's trial folders (errors in error.txt, summarised on
        # the console); forwarding it would bury the progress lines
        "log_to_driver": False,
        "logging_level": "WARNING",
    }
    if address in (None, "", "local"):
        if cluster.get("num_cpus") is not None:
            kwargs["num_cpus"] = int(cluster["num_cpus"])
        # "local", not None: Ray would otherwise join whatever RAY_ADDRESS or the last
        # `ray start` on this machine (/tmp/ray/ray_current_cluster) points at
        ray.init(address="local", **kwargs)
    else:
        ray.init(address=str(address), **kwargs)
    check_cluster_can_host(cluster, ray.cluster_resources(), alive_node_resources())


def check_cluster_can_host(cluster: Mapping[str, Any], resources: Mapping[str, float],
                           nodes: list[Mapping[str, float]] | None = None) -> None:
    """Fail clearly when no node of the running cluster can host one trial.

    ``resources``: the cluster's totals; ``nodes``: each alive node's resources (a trial
    runs on one node, so one node must have ``cpus_per_trial`` CPUs and ``gpus_per_trial``
    GPUs at once). Without ``nodes`` the totals stand for one node.
    """
    need = trial_resources(cluster)
    have_gpu = float(resources.get("GPU", 0.0))
    if need["gpu"] > 0 and have_gpu <= 0:
        raise ConfigError(
            f"cluster.gpus_per_trial={need['gpu']} but the Ray cluster has no GPU "
            f"(resources: {dict(resources)}); set cluster.gpus_per_trial=0 or add GPU nodes"
        )
    if need["cpu"] > float(resources.get("CPU", 0.0)):
        raise ConfigError(
            f"cluster.cpus_per_trial={need['cpu']} but the Ray cluster has only "
            f"{resources.get('CPU', 0)} CPUs; lower cluster.cpus_per_trial"
        )
    nodes = list(nodes) if nodes else [resources]
    fits = [n for n in nodes if float(n.get("CPU", 0.0)) >= need["cpu"] and float(n.get("GPU", 0.0)) >= need["gpu"]]
    if not fits:
        most_gpu = max(float(n.get("GPU", 0.0)) for n in nodes)
        most_cpu = max(float(n.get("CPU", 0.0)) for n in nodes)
        raise ConfigError(
            f"no node of the Ray cluster has cluster.cpus_per_trial={need['cpu']:g} CPUs and "
            f"cluster.gpus_per_trial={need['gpu']:g} GPUs at once (largest node: {most_cpu:g} CPUs, "
            f"{most_gpu:g} GPUs; {len(nodes)} nodes); a trial runs on one node: lower the request"
        )


def alive_node_resources() -> list[dict[str, float]]:
    """Resources of every alive node of the connected Ray cluster."""
    import ray

    return [dict(n.get("Resources", {})) for n in ray.nodes() if n.get("Alive")]
