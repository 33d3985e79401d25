"""Ray start-up and per-trial resources (the ``cluster`` group).

A local study starts a private Ray with token authentication on and a fresh random token
(``RAY_AUTH_TOKEN``, in this process's environment only): Ray binds its ports on every
interface (it resolves loopback to the node's address), so the token is what keeps other
machines and users out. A cluster keeps its own authentication (``~/.ray/auth_token`` or
``RAY_AUTH_TOKEN`` set by whoever starts the study). GPU and CPU requests are checked
before Ray starts (local) or right after connecting (cluster).
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import math
import os
import secrets
import signal
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..util.atomic import read_json, write_json
from .config import ClusterConfig

__all__ = ["alive_node_resources", "clean_leftover_processes", "record_local_processes", "check_cluster", "check_cluster_can_host", "local_gpu_count", "start_ray",
           "trial_gpu_ids", "trial_resources"]


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


def trial_resources(cluster: ClusterConfig) -> dict[str, float]:
    """``{"cpu": ..., "gpu": ...}`` for one trial."""
    return {"cpu": float(cluster.cpus_per_trial), "gpu": float(cluster.gpus_per_trial)}


def check_cluster(cluster: ClusterConfig) -> None:
    """Reject requests this machine cannot host before Ray starts (local Ray only)."""
    if cluster.gpus_per_trial > 0 and cluster.is_local and local_gpu_count() == 0:
        raise ConfigError(f"cluster.gpus_per_trial={cluster.gpus_per_trial:g} but this machine has no CUDA GPU; "
                          "set cluster.gpus_per_trial=0 or run on a cluster with GPUs (cluster.address=...)")
    cpus = os.cpu_count() or 1
    if cluster.is_local and cluster.num_cpus is None and cluster.cpus_per_trial > cpus:
        raise ConfigError(f"cluster.cpus_per_trial={cluster.cpus_per_trial:g} but this machine has {cpus} CPUs, so no "
                          f"trial could start; lower it (cluster.cpus_per_trial={cpus}) or give the local Ray more "
                          f"(cluster.num_cpus={math.ceil(cluster.cpus_per_trial)}, trials then share cores)")
    if cluster.is_local and cluster.num_cpus is not None and cluster.num_cpus > cpus:
        print(f"[ray] warning: cluster.num_cpus={cluster.num_cpus} but this machine has {cpus} CPUs; "
              "trials will share cores", file=sys.stderr, flush=True)


_ours: dict[str, str | None] = {"token": None}


def _local_auth_environment() -> None:
    """Token authentication for a private local Ray with a fresh random token.

    ``RAY_AUTH_MODE`` is left unset (a value exported in the shell, ``disabled`` included, is
    removed): for a new local cluster Ray then turns token mode on itself, in this process
    and its children, and takes the token from ``RAY_AUTH_TOKEN``.
    """
    os.environ.pop("RAY_AUTH_MODE", None)
    os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    _ours["token"] = os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    # Ray says it turned authentication on and how to turn it off; the study never does
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)


def start_ray(cluster: ClusterConfig) -> dict[str, float]:
    """Start a private local Ray or connect to ``cluster.address``; return the cluster's resources."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")  # our handlers stop a study (study.interrupt)
    import ray

    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            # trial output stays in Tune's trial folders (errors in error.txt, summarised on
            # the console); forwarding it would bury the progress lines
            "log_to_driver": False,
            "logging_level": "WARNING",
        }
        if cluster.is_local:
            # Tune's trial actors start workers of their own; the idle ones Ray prestarts for
            # a new driver only take cores from the driver while the study starts
            os.environ.setdefault("RAY_prestart_worker_first_driver", "0")
            clean_leftover_processes()
            _local_auth_environment()
            if cluster.num_cpus is not None:
                kwargs["num_cpus"] = int(cluster.num_cpus)
            # "local", not None: Ray would otherwise join whatever RAY_ADDRESS or the last
            # `ray start` on this machine (/tmp/ray/ray_current_cluster) points at
            ray.init(address="local", **kwargs)
            record_local_processes()
        else:
            if _ours["token"] is not None and os.environ.get("RAY_AUTH_TOKEN") == _ours["token"]:
                del os.environ["RAY_AUTH_TOKEN"]  # an earlier local study's token is not the cluster's
            ray.init(address=str(cluster.address), **kwargs)
    resources = dict(ray.cluster_resources())
    check_cluster_can_host(cluster, resources, alive_node_resources())
    return resources


def _registry() -> Path:
    root = os.environ.get("SURROGATE_HPO_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "surrogate_hpo"
    return base / "ray_processes"


def _start_ticks(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (/proc; None if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(fields.rsplit(")", 1)[1].split()[19])


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (/proc), children first."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], list(parents.get(pid, []))
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def record_local_processes() -> None:
    """Note this driver's local Ray processes (pid, start time), so that a later study can
    stop them if this one is killed without a chance to (SIGKILL leaves Ray's agents behind).
    Called when Ray has started and again at each stage (agents start late). Linux only."""
    if not _ours["token"] or not Path("/proc/self/stat").exists():
        return  # no local Ray of ours in this process, or no /proc
    me = os.getpid()
    procs = [[p, t] for p in _descendants(me) if (t := _start_ticks(p)) is not None]
    record = _registry() / f"{me}.json"
    write_json(record, {"driver": [me, _start_ticks(me)], "processes": procs})
    os.chmod(record, 0o600)  # see _trusted_record
    if not _ours.get("atexit"):
        _ours["atexit"] = "registered"
        atexit.register(lambda: record.unlink(missing_ok=True))


def _trusted_record(record: Path) -> bool:
    """A record this user wrote: a regular file of ours that nobody else can write."""
    try:
        st = record.lstat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _is_our_ray_process(pid: int) -> bool:
    """``pid`` belongs to this user and runs Ray (``ray::`` title or a program of Ray's package)."""
    try:
        uid = int(next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                       if line.startswith("Uid:")))
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (OSError, StopIteration, ValueError, IndexError):
        return False
    spec = importlib.util.find_spec("ray")
    ray_dirs = [str(Path(d)) + os.sep for d in (spec.submodule_search_locations or [])] if spec else []
    return uid == os.getuid() and (argv[0].startswith("ray::") or any(d in a for a in argv for d in ray_dirs))


def clean_leftover_processes() -> list[int]:
    """Stop the Ray processes of earlier local studies whose driver is gone; their pids.

    Only records this user wrote and nobody else can write are read, and only this user's
    processes that run Ray are stopped (a record planted in a shared cache stops nothing)."""
    killed: list[int] = []
    for record in sorted(_registry().glob("*.json")):
        if not _trusted_record(record):
            continue
        try:
            data = read_json(record)
            pid, started = data["driver"]
            if _start_ticks(pid) == started:
                continue  # that study is still running
            for p, t in data["processes"]:
                if _start_ticks(p) == t and _is_our_ray_process(p):  # the same process, not a reused pid
                    try:
                        os.kill(p, signal.SIGKILL)
                        killed.append(p)
                    except OSError:
                        pass
        except (OSError, ValueError, KeyError, TypeError):
            pass
        record.unlink(missing_ok=True)
    if killed:
        print(f"[ray] stopped {len(killed)} Ray processes left behind by an earlier study that was killed",
              flush=True)
    return killed


def check_cluster_can_host(cluster: ClusterConfig, resources: Mapping[str, float],
                           nodes: list[Mapping[str, float]] | None = None) -> None:
    """Fail clearly when no node of the running cluster can host one trial.

    ``resources``: the cluster's totals; ``nodes``: each alive node's resources (a trial
    runs on one node, so one node must have ``cpus_per_trial`` CPUs and ``gpus_per_trial``
    GPUs at once). Without ``nodes`` the totals stand for one node.
    """
    need = trial_resources(cluster)
    if need["gpu"] > 0 and float(resources.get("GPU", 0.0)) <= 0:
        raise ConfigError(f"cluster.gpus_per_trial={need['gpu']:g} but the Ray cluster has no GPU "
                          f"(resources: {dict(resources)}); set cluster.gpus_per_trial=0 or add GPU nodes")
    if need["cpu"] > float(resources.get("CPU", 0.0)):
        raise ConfigError(f"cluster.cpus_per_trial={need['cpu']:g} but the Ray cluster has only "
                          f"{resources.get('CPU', 0):g} CPUs; lower cluster.cpus_per_trial")
    nodes = list(nodes) if nodes else [resources]
    if not any(float(n.get("CPU", 0.0)) >= need["cpu"] and float(n.get("GPU", 0.0)) >= need["gpu"] for n in nodes):
        most_gpu = max(float(n.get("GPU", 0.0)) for n in nodes)
        most_cpu = max(float(n.get("CPU", 0.0)) for n in nodes)
        raise ConfigError(
            f"no node of the Ray cluster has cluster.cpus_per_trial={need['cpu']:g} CPUs and "
            f"cluster.gpus_per_trial={need['gpu']:g} GPUs at once (largest node: {most_cpu:g} CPUs, "
            f"{most_gpu:g} GPUs; {len(nodes)} nodes); a trial runs on one node: lower the request")


def alive_node_resources() -> list[dict[str, float]]:
    """Resources of every alive node of the connected Ray cluster."""
    import ray

    return [dict(n.get("Resources", {})) for n in ray.nodes() if n.get("Alive")]
