"""Time to finish a fixed NASWOT study and a fixed TPE study with 1, 2, ... workers.

In the spirit of figure 4 of Fiedler et al. (2022). A *worker* is one concurrent Tune trial
with one CPU: the local Ray gets ``cluster.num_cpus=W`` CPUs, so at most W trials run at
once. The studies are fixed (same data, space, seeds and trial count for every W):

* ``naswot``: the default search space (1872 architectures), scored without training;
  ``candidates_per_trial=auto`` gives one chunk per worker;
* ``tpe``: ``--tpe-trials`` TPE trials (quick budget: 2-layer networks, 4 epochs, 4000
  points per snapshot), each trained once.

Each study runs as its own ``surrogate-hpo`` subprocess (its own Ray). Reported per W: the
search stage's wall time in s (``method_details.search_wall_seconds``), the speed-up
against W=1, the parallel efficiency (speed-up / W), and the whole subprocess wall time.
Final evaluation is cut to one seed (it is not what is measured). Repeats (``--repeats``)
are summarised by their median.

Writes ``benchmarks/results/scaling.json``, ``scaling.md`` and ``scaling.png``.

Run: ``python3 benchmarks/scaling.py`` (about 6 minutes on 2 cores);
``--workers 1 2 4 8`` on a bigger machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_machine import machine_info

RESULTS = Path(__file__).resolve().parent / "results"


def study_overrides(method: str, tpe_trials: int) -> list[str]:
    if method == "naswot":
        return ["method=naswot", "method.candidates_per_trial=auto", "training.max_epochs=2"]
    return ["method=tpe", "budget=quick", f"method.n_trials={tpe_trials}", "method.repeats=1"]


def run_once(method: str, workers: int, root: Path, tpe_trials: int, k: int, extra: list[str] | None = None) -> dict:
    run_dir = root / f"{method}_w{workers}_r{k}"
    cmd = [sys.executable, "-m", "surrogate_hpo", *study_overrides(method, tpe_trials), *(extra or []),
           f"cluster.num_cpus={workers}",
           "final_evaluation.seeds=1", f"study_name={method}_w{workers}", f"hydra.run.dir={run_dir}",
           f"output_root={root}"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)  # the study starts its own token-protected Ray
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    summary = json.loads((run_dir / "summary.json").read_text())
    return {"search_wall_seconds": summary["method_details"]["search_wall_seconds"], "subprocess_seconds": wall,
            "search_cpu_seconds": summary["search_compute"]["cpu_seconds"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=list(range(1, (os.cpu_count() or 1) + 1)))
    ap.add_argument("--methods", nargs="+", default=["naswot", "tpe"], choices=["naswot", "tpe"])
    ap.add_argument("--tpe-trials", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                    help="extra Hydra override for every study (repeatable), e.g. data=mala_dir")
    ap.add_argument("--out", default=str(RESULTS / "scaling"))
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="surrogate_hpo_scaling_"))
    rows = []
    for method in args.methods:
        base = None
        for w in args.workers:
            runs = [run_once(method, w, root, args.tpe_trials, k, args.override) for k in range(args.repeats)]
            med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            base = med["search_wall_seconds"] if base is None else base
            speedup = base / med["search_wall_seconds"]
            rows.append({"method": method, "workers": w, **med, "speedup": speedup, "efficiency": speedup / w,
                         "runs": runs})
            print(f"[scaling] {method} W={w}: search {med['search_wall_seconds']:.1f} s, speed-up {speedup:.2f}, "
                  f"subprocess {med['subprocess_seconds']:.0f} s", flush=True)
    table = ["| method | workers | search wall (s) | speed-up | efficiency | search CPU-s | subprocess wall (s) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        table.append(f"| {r['method']} | {r['workers']} | {r['search_wall_seconds']:.1f} | {r['speedup']:.2f} | "
                     f"{r['efficiency']:.2f} | {r['search_cpu_seconds']:.1f} | {r['subprocess_seconds']:.0f} |")
    text = "\n".join(table)
    print(text)
    out = Path(args.out)
    machine = machine_info()
    out.with_suffix(".json").write_text(json.dumps({"machine": machine, "command": " ".join(sys.argv),
                                                    "tpe_trials": args.tpe_trials, "repeats": args.repeats,
                                                    "overrides": args.override,
                                                    "rows": rows}, indent=2) + "\n")
    out.with_suffix(".md").write_text(
        f"# Scaling with parallel workers\n\n`python3 benchmarks/scaling.py {' '.join(sys.argv[1:])}` on "
        f"{machine.get('node')} ({machine.get('cpu_count')} CPUs), {machine.get('date_utc')}; medians of "
        f"{args.repeats} runs.\n\n{text}\n\n![]({out.with_suffix('.png').name})\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for method in args.methods:
        sel = [r for r in rows if r["method"] == method]
        a.plot([r["workers"] for r in sel], [r["search_wall_seconds"] for r in sel], "o-", label=method)
        b.plot([r["workers"] for r in sel], [r["speedup"] for r in sel], "o-", label=method)
    ws = args.workers
    b.plot(ws, ws, "k--", lw=1, label="ideal")
    a.set_xlabel("workers (concurrent trials)")
    a.set_ylabel("search wall time (s)")
    b.set_xlabel("workers (concurrent trials)")
    b.set_ylabel("speed-up vs 1 worker")
    for ax in (a, b):
        ax.set_xticks(ws)
        ax.legend()
    fig.savefig(out.with_suffix(".png"), dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
