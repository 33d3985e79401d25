"""A study on a real multi-node Ray cluster survives losing a node (real Ray, real entry point).

``ray.cluster_utils.Cluster`` starts a head node and a second node (separate raylets, each
with 1 CPU) on this machine. A small TPE study runs through ``run_study`` with
``cluster.address=<the cluster>`` and ``cluster.max_failures=3``, each trial trained
three times. When a trial on the second node has reported one training and is busy with
the next, that node is killed (all its processes at once, as a lost machine); the trial fails, Tune retries it on
the head, and the study finishes with every trial exactly once plus the final evaluation.

Where a trial ran: both nodes share this machine's IP, so ``node_ip`` in Tune's results
cannot tell them apart. Every result carries the ``pid`` of the trial's actor process, and
the GCS actor table maps each actor's pid to its node id (kept for dead actors too).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from composed_config import compose_config

N_TRIALS = 6
REPEATS = 3
STAGE = "tpe"


def _rows(study_root: Path) -> int:
    paths = list(study_root.glob(f"*/{STAGE}_trials.csv"))
    if not paths:
        return 0
    try:
        return len(pd.read_csv(paths[0]))
    except (pd.errors.EmptyDataError, FileNotFoundError):
        return 0


def _actors(cluster) -> dict[int, dict]:
    """pid -> actor info (node id, state, class) of every actor the cluster has known."""
    table = cluster.global_state.actor_table(None)
    return {int(a["Pid"]): a for a in table.values() if a.get("Pid")}


def _trial_results(tune_stage_dir: Path) -> dict[str, list[dict]]:
    """trial dir name -> every result Tune logged for it (result.json, one JSON per line)."""
    out: dict[str, list[dict]] = {}
    for path in tune_stage_dir.glob("*/result.json"):
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        out[path.parent.name] = lines
    return out


class _NodeKiller(threading.Thread):
    """Kills ``node`` mid-study, while a trial there is between two of its trainings.

    Watches the results Tune's driver logs (``result.json`` in its staging folder, then
    synced to the study's ``tune/``): a trial whose latest result came from an actor on
    ``node`` after some but not all of its trainings is busy with the next one. Killing the node
    then loses that trial's work for sure, not just an idle actor.
    """

    def __init__(self, cluster, node, watch: list[Path], timeout: float = 240.0):
        super().__init__(daemon=True)
        self.cluster, self.node, self.watch, self.timeout = cluster, node, watch, timeout
        self.pid_to_node: dict[int, str] = {}
        self.killed_trial: str | None = None
        self.killed_at_rows: int | None = None
        self.killed_after_s: float | None = None
        self.error: BaseException | None = None
        self.seen: dict[str, tuple] = {}  # trial -> (trainings done, on the node) at its last result seen

    def _victim(self) -> str | None:
        for root in self.watch:
            for path in root.glob("**/result.json"):
                try:
                    lines = [line for line in path.read_text().splitlines() if line.strip()]
                    last = json.loads(lines[-1]) if lines else None
                except (OSError, ValueError):
                    continue
                if not last:
                    continue
                node = self.pid_to_node.get(int(last["pid"]))
                self.seen[str(last["trial_id"])] = (last.get("repeats_done"), node == self.node.node_id)
                if 1 <= last.get("repeats_done", 0) < last.get("repeats", 0) and node == self.node.node_id:
                    return str(last["trial_id"])
        return None

    def run(self) -> None:
        try:
            t0 = time.monotonic()
            while time.monotonic() - t0 < self.timeout:
                self.pid_to_node.update({pid: a["Address"]["NodeID"] for pid, a in _actors(self.cluster).items()})
                victim = self._victim()
                rows = _rows(self.watch[0])
                if victim is not None and rows < N_TRIALS - 1:
                    self.cluster.remove_node(self.node, allow_graceful=False)
                    self.killed_trial, self.killed_at_rows = victim, rows
                    self.killed_after_s = time.monotonic() - t0
                    return
                time.sleep(0.05)
        except BaseException as exc:  # reported by the test
            self.error = exc


@pytest.mark.slow
def test_study_on_two_nodes_survives_losing_one(synthetic_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    import ray
    from ray_cluster_helpers import private_cluster

    from surrogate_hpo.experiment import run_study

    local_was_up = ray.is_initialized()
    with private_cluster({"num_cpus": 1}, [{"num_cpus": 1}]) as (cluster, (worker,)):
        head_id, worker_id = cluster.head_node.node_id, worker.node_id
        assert head_id != worker_id

        out = tmp_path / "out"
        cfg = compose_config([
            f"method={STAGE}", "data=mala_dir", f"data.path={synthetic_dir}", "search_space=small",
            "training.max_epochs=400", "training.early_stopping_patience=400", f"method.n_trials={N_TRIALS}",
            f"method.repeats={REPEATS}", "method.n_startup_trials=3", "final_evaluation.seeds=2", f"output_root={out}",
            f"cluster.address={cluster.address}", "cluster.max_failures=3", "cluster.cpus_per_trial=1",
        ])
        run_dir = out / STAGE / "run1"
        staging = Path(cluster.head_node.get_session_dir_path()) / "artifacts"  # Tune's driver writes here first
        killer = _NodeKiller(cluster, worker, [out / STAGE, staging])
        killer.start()
        t0 = time.monotonic()
        summary = run_study(cfg, run_dir)
        wall = time.monotonic() - t0
        killer.join(timeout=10)
        assert killer.error is None, repr(killer.error)
        pid_to_node = {**killer.pid_to_node,
                       **{pid: a["Address"]["NodeID"] for pid, a in _actors(cluster).items()}}

    # the node was lost mid-study, in the middle of a trial's training
    assert killer.killed_trial is not None, ("the second node was never killed (no trial ran there?)",
                                             killer.seen, killer.pid_to_node, worker_id)
    assert killer.killed_at_rows < N_TRIALS - 1

    # every trial exactly once, all finished, and the final evaluation done
    trials = pd.read_csv(run_dir / f"{STAGE}_trials.csv")
    assert len(trials) == N_TRIALS and trials["trial_id"].is_unique, trials[["trial_id", "status"]]
    assert set(trials["status"]) == {"ok"}, trials[["trial_id", "status"]]
    optuna_trials = pd.read_csv(run_dir / f"{STAGE}_optuna.csv")
    assert len(optuna_trials) == N_TRIALS and (optuna_trials["state"] == "COMPLETE").all()
    assert summary["final_evaluation"]["test_band_energy_mae_mev_per_atom"]["n"] == 2
    assert json.loads((run_dir / "status.json").read_text())["status"] == "finished"

    # trials ran on both nodes (node of each result = node of the actor process that sent it)
    results = _trial_results(run_dir / "tune" / STAGE)
    assert len(results) == N_TRIALS
    nodes_of = {name: {pid_to_node.get(int(r["pid"])) for r in rs} for name, rs in results.items()}
    used = set().union(*nodes_of.values())
    assert {head_id, worker_id} <= used, (nodes_of, head_id, worker_id)
    # the trial caught on the lost node failed (error.txt), was retried and finished on the head
    failed = {results[p.parent.name][-1]["trial_id"]: p.parent.name
              for p in (run_dir / "tune" / STAGE).glob("*/error.txt")}
    assert killer.killed_trial in failed, (killer.killed_trial, failed)
    for name in failed.values():
        assert pid_to_node.get(int(results[name][-1]["pid"])) == head_id, (name, results[name])
    row = trials.set_index("trial_id").loc[killer.killed_trial]
    assert row["status"] == "ok" and row["repeats_done"] == REPEATS
    print(f"\n[multinode] {wall:.0f} s study; node killed at {killer.killed_after_s:.0f} s, after "
          f"{killer.killed_at_rows}/{N_TRIALS} trials, "
          f"during trial {killer.killed_trial}; retried: {sorted(failed)}; trials with a result from "
          f"head / lost node: {sum(head_id in v for v in nodes_of.values())} / "
          f"{sum(worker_id in v for v in nodes_of.values())}")
    assert ray.is_initialized() == local_was_up
