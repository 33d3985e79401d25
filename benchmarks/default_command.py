"""The README's default command (``surrogate-hpo``), an earlier commit against this checkout.

Both run alternately in one run on one machine, each from its own empty folder and with its
own warm sample cache (a version whose cache stamp differs would otherwise rebuild the other's
cache, about 30 s of LAMMPS, every time). The earlier commit is checked out into a temporary
git worktree and run as ``python -m surrogate_hpo`` with ``PYTHONPATH`` on it. Reported per
run: the process's wall seconds and, for this checkout, the study's time account.

    python3 benchmarks/default_command.py [--before 96db57d --runs 2]

Writes ``benchmarks/results/default_command.{json,md}``.
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_machine import machine_info  # noqa: E402


def run_once(label: str, code: Path, work: Path, cache: Path) -> dict[str, Any]:
    """One ``surrogate-hpo`` with no arguments from an empty folder; wall s, peak RSS, account."""
    folder = work / f"{label}_{time.time_ns()}"
    folder.mkdir()
    env = {**os.environ, "SURROGATE_HPO_CACHE": str(cache), "PYTHONPATH": str(code)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "surrogate_hpo"], cwd=folder, env=env, capture_output=True,
                          text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{label}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    (summary_file,) = folder.glob("outputs/*/*/summary.json")
    summary = json.loads(summary_file.read_text())
    rec = {"version": label, "wall_seconds": wall, "study_wall_seconds": summary.get("wall_seconds"),
           "time_account": summary.get("time_account"),
           "tune_stages": summary.get("tune_stages")}
    print(f"[default command] {label}: {wall:.1f} s", flush=True)
    return rec


def table(runs: list[dict[str, Any]]) -> str:
    lines = ["| version | runs | wall s (each) | median |", "|---|---:|---|---:|"]
    for label in ("before", "after"):
        ws = [r["wall_seconds"] for r in runs if r["version"] == label and not r.get("warm_up")]
        lines.append(f"| {label} | {len(ws)} | {', '.join(f'{w:.1f}' for w in ws)} | {statistics.median(ws):.1f} |")
    after = [r for r in runs if r["version"] == "after" and not r.get("warm_up")]
    if after and after[0]["time_account"]:
        lines += ["", "Time account of the first 'after' run:", "", "| phase | s |", "|---|---:|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in after[0]["time_account"].items()]
        for st in after[0]["tune_stages"] or []:
            lines.append(f"| Tune stage {st['stage']}: useful / trial start / idle slots / bookkeeping | "
                         f"{st['useful']:.1f} / {st['trial start']:.1f} / {st.get('idle slots', 0.0):.1f} / "
                         f"{st['bookkeeping']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default="96db57d", help="the earlier commit")
    ap.add_argument("--runs", type=int, default=2, help="timed runs per version (after one warm-up each)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "default_command")
    args = ap.parse_args()
    machine = machine_info()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        old = work / "before_checkout"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(old), args.before],
                       check=True, capture_output=True)
        try:
            versions = {"before": (old, work / "cache_before"), "after": (ROOT, work / "cache_after")}
            runs = []
            for label, (code, cache) in versions.items():  # warm-up: builds each version's cache
                runs.append({**run_once(label, code, work, cache), "warm_up": True})
            for _ in range(args.runs):
                for label, (code, cache) in versions.items():
                    runs.append(run_once(label, code, work, cache))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True)
    result = {"machine": machine, "command": "python3 benchmarks/default_command.py " + " ".join(sys.argv[1:]),
              "before_commit": args.before, "runs": runs}
    text = table(runs)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(f"# The default command, {args.before} against this checkout\n\n"
                                           f"Machine: {machine['node']}, load {machine['load_average_1_5_15min'][0]:.2f}"
                                           f" at the start. `{result['command']}`\n\n{text}\n")


if __name__ == "__main__":
    main()
