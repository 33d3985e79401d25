"""Method ``workflow``: the paper's figure 2 in one study.

1. ``acsd``: the descriptor settings (rcutfac, twojmax) by ACSD on the snapshots' atoms and LDOS;
2. ``descriptors``: the chosen settings computed for every snapshot (LAMMPS, cached) into
   ``<study>/dataset``, a MALA folder;
3. ``naswot``: the network by a training-free score (``method.score``) on that dataset;
4. ``tpe_policy``: a short TPE study of that network's training policy;
then the study's final evaluation trains it with ``final_evaluation.seeds`` seeds and keeps
the seed of lowest validation error as the model bundle. Each stage keeps its own trials
table, so a resumed study continues at the stage and trial where it stopped.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ...data.descriptor_set import default_cache_dir, write_descriptor_set
from ...data.prepared import load_snapshot_set, prepare_training_data
from ...data.snapshot_set import SnapshotSet
from ...descriptors.bispectrum import BispectrumSettings
from ...errors import ConfigError
from ...study.context import Outcome, StudyContext
from ..base import Method
from .acsd import AcsdConfig, acsd_stage, base_settings, pick_snapshots, prepare_pairs
from .naswot import score_grid
from .naswot_optimized import NaswotOptimizedConfig
from .tpe import run_tpe_stage
from .trained_stage import outcome_of

__all__ = ["Workflow", "WorkflowConfig"]

DATASET = "dataset"


@dataclass
class WorkflowConfig(AcsdConfig, NaswotOptimizedConfig):
    name: Literal["workflow"]

    def check(self) -> None:
        AcsdConfig.check(self)
        NaswotOptimizedConfig.check(self)


def _stage(name: str, choice: str, wall: float, compute: dict[str, float]) -> dict[str, Any]:
    return {"stage": name, "choice": choice, "wall_seconds": wall,
            "cpu_seconds": float(compute.get("cpu_seconds", 0.0)), "gpu_seconds": float(compute.get("gpu_seconds", 0.0))}


def _dataset_is(folder: Path, settings: BispectrumSettings, names: list[str]) -> bool:
    """Does ``folder`` hold every snapshot with exactly ``settings`` (a finished earlier run)?"""
    import json

    try:
        return all(BispectrumSettings.from_dict(json.loads((folder / f"{n}.info.json").read_text())["descriptors"])
                   == settings and (folder / f"{n}.in.npy").is_file() for n in names)
    except (OSError, ValueError, KeyError):
        return False


class Workflow(Method[WorkflowConfig]):
    name = "workflow"
    config_type = WorkflowConfig
    data = "snapshots"

    def check(self) -> None:
        if not self.space.training:
            raise ConfigError("method=workflow tunes search_space.training, which is empty")

    def describe(self) -> str:
        c = self.config
        return (f"workflow: ACSD over {len(c.grid())} descriptor settings -> descriptors for every snapshot -> "
                f"{c.score} over {self.space.n_candidates} architectures -> TPE of the policy ({c.n_trials} trials)")

    def prepare(self, snapshots: SnapshotSet, seed: int) -> None:
        self.base = base_settings(snapshots, self.config)
        self.pairs = prepare_pairs(pick_snapshots(snapshots, self.config), self.config, seed, self.base)

    def run(self, study: StudyContext) -> Outcome:
        c = self.config
        stages = []
        print("[workflow] stage 1/4: descriptor settings by ACSD", flush=True)
        t0 = time.perf_counter()
        settings, chosen_row, acsd_details, acsd_compute = acsd_stage(study, c, self.base, self.pairs)
        stages.append(_stage("acsd", f"rcutfac {settings.rcutfac:g} Å, twojmax {settings.twojmax}",
                             time.perf_counter() - t0, acsd_compute))

        print(f"[workflow] stage 2/4: descriptors for all {len(study.snapshots.all)} snapshots", flush=True)
        t0, cpu0 = time.perf_counter(), time.process_time()
        folder = study.study_dir / DATASET
        names = [s.name for s in study.snapshots.all]
        if _dataset_is(folder, settings, names):
            print(f"[descriptors] {folder} holds them already", flush=True)
        else:
            write_descriptor_set(study.snapshots.all, settings, folder, cache_dir=default_cache_dir(c.cache_dir))
        data_cfg = dataclasses.replace(study.config.data, kind="mala_dir", path=str(folder), descriptors=None)
        snapshots = load_snapshot_set(data_cfg)
        study.snapshots = snapshots
        study.data = prepare_training_data(snapshots, data_cfg, seed=study.seed, shards_dir=study.study_dir / "shards")
        stages.append(_stage("descriptors", f"{study.data.n_features} components x {len(names)} snapshots",
                             time.perf_counter() - t0, {"cpu_seconds": time.process_time() - cpu0}))

        print("[workflow] stage 3/4: the network by a training-free score", flush=True)
        t0 = time.perf_counter()
        network, naswot_details, naswot_compute = score_grid(study, c)
        stages.append(_stage("naswot", network.describe(), time.perf_counter() - t0, naswot_compute))

        print(f"[workflow] stage 4/4: the training policy of {network.describe()} by TPE", flush=True)
        t0 = time.perf_counter()
        policy_stage = run_tpe_stage(study, c, stage="tpe_policy", architecture=False, default_network=network)
        out = outcome_of(study, policy_stage, c, default_network=network,
                         plot_title=f"Training policy of {network.describe()} (TPE)")
        policy = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in (out.training or {}).items())
        stages.append(_stage("tpe_policy", policy or "the default policy", time.perf_counter() - t0,
                             policy_stage.compute))

        compute = {k: sum(s[k] for s in stages) for k in ("cpu_seconds", "gpu_seconds")}
        out.architecture = network
        out.descriptors = {**settings.to_dict(), "n_features": int(chosen_row["n_features"])}
        out.compute = compute
        out.details = {**out.details, "stages": stages, "acsd_min": acsd_details["selection"]["min_acsd"],
                       "naswot_best_score": naswot_details["best_score"], "dataset": str(folder),
                       "settings_table": acsd_details["settings_table"]}
        return out
