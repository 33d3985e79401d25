"""How much of a ``naswot`` study's wall time is Tune overhead versus score computation.

Runs the real NASWOT stage (``surrogate_hpo.search.naswot.run``: Tune trials, results
writer, progress) on a real local Ray for the same candidates with several
``candidates_per_trial`` settings, side by side in one run:

* scoring time = sum of the per-candidate scoring seconds / concurrent trials
  (what a perfectly overhead-free scheduler would take);
* Tune overhead = stage wall time - scoring time.

Goal (issue 3): overhead <= scoring time for a grid of >= 500 candidates.

    python benchmarks/naswot_tune_overhead.py --candidates 1872 --chunks 16 64 auto
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from bench_machine import machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"


def _prepared(n_features: int, n_outputs: int, seed: int):
    from surrogate_hpo.data import Scaler
    from surrogate_hpo.study.prepared_data import PreparedData

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4096, n_features)).astype(np.float32)
    y = rng.random((4096, n_outputs)).astype(np.float32)
    return PreparedData(Scaler("none"), Scaler("none"), x, y, x[:256], y[:256], [], [], "random rows")


def _empty_trial(config: dict[str, Any]) -> None:
    from ray import tune

    tune.report({"done": 1})


def tune_fixed_cost(cpus: int, storage: Path) -> float:
    """Wall time of a Tune stage whose ``cpus`` trials do nothing: Tune's own fixed cost."""
    from ray import tune

    t0 = time.perf_counter()
    tune.Tuner(tune.with_resources(_empty_trial, {"cpu": 1}), param_space={"i": tune.grid_search(list(range(cpus)))},
               tune_config=tune.TuneConfig(reuse_actors=True),
               run_config=tune.RunConfig(name="empty", storage_path=str(storage), verbose=0)).fit()
    return time.perf_counter() - t0


def bench_tune_overhead(*, n_candidates: int, chunks: list[int | str], n_inits: int = 5, batch_size: int = 64,
                        n_features: int = 91, n_outputs: int = 70, cpus: int = 2, seed: int = 0,
                        settle_s: float = 0.0) -> dict[str, Any]:
    """Run the NASWOT stage once per chunk size; return timings per setting."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    import ray

    from surrogate_hpo.search import naswot
    from surrogate_hpo.search.space import parse_search_space
    from surrogate_hpo.study.context import StudyContext

    space = parse_search_space(yaml.safe_load((ROOT / "conf/search_space/default.yaml").read_text()))
    grid = space.candidates()
    step = max(1, len(grid) // n_candidates)
    candidates = grid[::step][:n_candidates]
    data = _prepared(n_features, n_outputs, seed)
    cluster = {"cpus_per_trial": 1, "gpus_per_trial": 0, "max_failures": 0}
    t_ray = time.perf_counter()
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    ray_start = time.perf_counter() - t_ray
    time.sleep(settle_s)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            empty_stage = tune_fixed_cost(cpus, Path(tmp))
        for chunk in chunks:
            with tempfile.TemporaryDirectory() as tmp:
                cfg = {"method": {"name": "naswot", "n_inits": n_inits, "batch_size": batch_size, "k": 1e-5,
                                  "candidates_per_trial": chunk}, "cluster": cluster, "seed": seed,
                       "training": {}}
                ctx = StudyContext(cfg=cfg, study_dir=Path(tmp), data=data, space=space)
                out = naswot.run(ctx, candidates=candidates)
            d = out.details
            scoring_wall = d["scoring_seconds"] / cpus
            overhead = d["search_wall_seconds"] - scoring_wall
            size = naswot.candidates_per_trial(chunk, len(candidates), cluster)
            rows.append({
                "candidates_per_trial": f"{chunk} ({size})" if chunk == "auto" else chunk,
                "tune_trials": -(-len(candidates) // size),
                "wall_s": d["search_wall_seconds"],
                "scoring_cpu_s": d["scoring_seconds"],
                "scoring_wall_s": scoring_wall,
                "overhead_s": overhead,
                "overhead_over_scoring": overhead / scoring_wall,
                "startup_s": d["first_trial_start_seconds"],
                "after_last_trial_s": d["after_last_trial_seconds"],
                "candidates_per_s": len(candidates) / d["search_wall_seconds"],
            })
    finally:
        ray.shutdown()
    return {"n_candidates": len(candidates), "concurrent_trials": cpus, "ray_start_s": ray_start,
            "empty_stage_s": empty_stage, "rows": rows}


def print_table(res: dict[str, Any]) -> None:
    print(f"\nNASWOT stage on a real local Ray: {res['n_candidates']} candidates of the default grid, "
          f"{res['concurrent_trials']} concurrent trials (Ray start {res['ray_start_s']:.1f} s, not counted; "
          f"a stage of {res['concurrent_trials']} empty trials takes {res['empty_stage_s']:.1f} s: Tune's fixed cost)")
    print(f"{'cand/trial':>10} {'trials':>7} {'wall s':>8} {'scoring s':>10} {'overhead s':>11} {'overhead/scoring':>17}"
          f" {'to 1st trial s':>15} {'after last s':>13} {'cand/s':>8}")
    for r in res["rows"]:
        print(f"{r['candidates_per_trial']:>10} {r['tune_trials']:>7} {r['wall_s']:>8.1f} {r['scoring_wall_s']:>10.1f} "
              f"{r['overhead_s']:>11.1f} {r['overhead_over_scoring']:>17.2f} {r['startup_s']:>15.1f} "
              f"{r['after_last_trial_s']:>13.1f} {r['candidates_per_s']:>8.1f}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", type=int, default=1872, help="candidates taken evenly from the default grid")
    ap.add_argument("--chunks", nargs="+", default=["16", "64", "auto"], help="candidates_per_trial settings")
    ap.add_argument("--inits", type=int, default=5)
    ap.add_argument("--cpus", type=int, default=2)
    ap.add_argument("--settle", type=float, default=0.0, help="seconds between ray.init and the first stage")
    ap.add_argument("--out", type=Path, default=RESULTS / "naswot_tune_overhead.json")
    args = ap.parse_args(argv)
    chunks = [c if c == "auto" else int(c) for c in args.chunks]
    res = bench_tune_overhead(n_candidates=args.candidates, chunks=chunks, n_inits=args.inits, cpus=args.cpus,
                              settle_s=args.settle)
    res["machine"] = machine_info()
    print_table(res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"saved {args.out}")
    return res


if __name__ == "__main__":
    main()
