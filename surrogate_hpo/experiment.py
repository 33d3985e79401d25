"""A study from config to summary: checks -> data -> Ray -> method -> final evaluation.

Everything that can be wrong with the config or the data is found before Ray starts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .study.config_check import check_config
from .study.context import StudyContext
from .study.errors import ConfigError
from .study.final_evaluation import run_final_evaluation
from .study.prepared_data import prepare_data
from .study.resources import start_ray
from .study.results import write_json
from .study.study_dir import MARKER, resolve_study_dir
from .study.summary import write_summary


def run_study(cfg: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Run (or resume) the study described by ``cfg`` (a resolved plain dict); return its summary."""
    t0 = time.perf_counter()
    method, space = check_config(cfg)
    study_dir, resuming = resolve_study_dir(cfg, run_dir)
    study_dir.mkdir(parents=True, exist_ok=True)
    if hasattr(method, "run_descriptor_study"):
        # descriptor methods (e.g. acsd) search bispectrum settings: no network, no final training
        print(f"[study] {cfg['study_name']}: method {cfg['method']['name']}, "
              f"{'resuming, ' if resuming else ''}results in {study_dir}", flush=True)
        if not resuming:
            write_json(study_dir / MARKER, {"status": "running", "config": cfg})
        try:
            summary = method.run_descriptor_study(cfg, study_dir, resume=resuming)
        except ConfigError:
            if not resuming:  # the study never started: not a candidate for resume=true
                (study_dir / MARKER).unlink(missing_ok=True)
            raise
        write_json(study_dir / MARKER, {"status": "finished", "config": cfg})
        return summary
    print(f"[study] {cfg['study_name']}: method {cfg['method']['name']}, {space.n_candidates} architectures in "
          f"the grid, {'resuming ' if resuming else ''}results in {study_dir}", flush=True)
    # every input error surfaces here; streamed studies write their shards into the study
    data = prepare_data(cfg["data"], seed=int(cfg.get("seed", 0)), shards_dir=study_dir / "shards")
    print(f"[data] {data.description}", flush=True)
    start_ray(cfg["cluster"])
    write_json(study_dir / MARKER, {"status": "running", "config": cfg})
    ctx = StudyContext(cfg=cfg, study_dir=study_dir, data=data, space=space, resume=resuming)
    outcome = method.run(ctx)
    final = run_final_evaluation(ctx, outcome.chosen, outcome.training)
    compute = {k: outcome.compute.get(k, 0.0) + final["compute"].get(k, 0.0) for k in ("cpu_seconds", "gpu_seconds")}
    summary = {
        "study_name": cfg["study_name"],
        "method": cfg["method"]["name"],
        "study_dir": str(study_dir),
        "data": data.description.splitlines()[0],
        "chosen": {
            **outcome.chosen.to_dict(),
            "architecture": outcome.chosen.describe(),
            "n_in": data.n_features,
            "n_out": data.n_energies,
            "n_parameters": outcome.chosen.to_architecture().n_parameters(data.n_features, data.n_energies),
        },
        "training": outcome.training,
        "method_details": outcome.details,
        "final_evaluation": final,
        "compute": compute,                 # search + final evaluation
        "search_compute": {k: float(outcome.compute.get(k, 0.0)) for k in ("cpu_seconds", "gpu_seconds")},
        "wall_seconds": time.perf_counter() - t0,
    }
    write_json(study_dir / "best_config.json", {"architecture": summary["chosen"], "training": outcome.training})
    print(write_summary(study_dir, summary), flush=True)
    write_json(study_dir / MARKER, {"status": "finished", "config": cfg})
    return summary


def load_summary(study_dir: Path) -> dict[str, Any]:
    """The summary.json of a finished study."""
    return json.loads((Path(study_dir) / "summary.json").read_text())
