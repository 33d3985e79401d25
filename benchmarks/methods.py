"""Every search method on the same data and search space: accuracy against compute and wall time.

In the spirit of figures 3 and 4 of Fiedler et al. (2022): each network-search method
(default ``naswot naswot_optimized direct tpe tpe_naswot oat``; ``acsd`` is a descriptor
method and is not compared) runs one full study, one after another, each as its own
``surrogate-hpo`` CLI subprocess (its own Ray instance; the subprocess wall time is honest),
on the bundled Al sample with the same search space, budget and overrides. Each study's
``summary.json`` is read back. Per method:

* final test band-energy and total-free-energy MAE in **meV/atom**: mean ± std over the
  final-evaluation seeds (5) of the chosen network (``summary["final_evaluation"]``);
* compute in **CPU-seconds** and **GPU-seconds**: total (search + final evaluation,
  ``summary["compute"]``) and search only (total minus ``final_evaluation["compute"]``);
* wall time in **s**: the study's own ``wall_seconds``, the search part
  (``method_details["search_wall_seconds"]``) and the whole subprocess (Python + Hydra +
  Ray start-up included);
* the chosen architecture, its parameter count and the trial counts (``n_trials``,
  ``n_candidates``, ``n_rows``, ``n_pruned`` ... as the method reports them).

Ratios (the paper's headline): search compute of tpe / naswot and the accuracy ratio
(tpe MAE / naswot MAE), and the same for every method against naswot.

Writes ``benchmarks/results/methods.json`` (machine, command line, budget, every number and
each study's ``method_details``), ``methods.md`` (table, machine, rerun command) and
``methods.png`` (test band-energy MAE against search CPU-seconds and against wall time,
both log x). Study directories go to ``--output-root`` (default a fresh temp dir).

Run: ``python3 benchmarks/methods.py --budget quick`` (about 3-5 minutes on 2 cores);
``--budget default`` for the full settings (hours); ``--methods naswot tpe`` to choose;
``--override key=value`` (repeatable) is passed to every study, e.g.
``--override search_space=small --override final_evaluation.seeds=3``;
``--replot`` only redraws ``methods.png`` from ``methods.json``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_machine import machine_info

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
METHODS = ["naswot", "naswot_optimized", "direct", "tpe", "tpe_naswot", "oat"]
COUNT_KEYS = ("n_trials", "n_candidates", "n_scored", "n_rows", "n_pruned", "n_failed")


def _cli() -> list[str]:
    exe = shutil.which("surrogate-hpo")
    return [exe] if exe else [sys.executable, "-m", "surrogate_hpo"]


def run_method(method: str, budget: str, overrides: list[str], root: Path) -> dict:
    """One study as a CLI subprocess; its summary.json (or the error) plus the subprocess wall."""
    study_dir = root / method
    if study_dir.exists():
        shutil.rmtree(study_dir)
    cmd = _cli() + [f"method={method}", f"budget={budget}", f"output_root={root}", f"study_name={method}",
                    f"hydra.run.dir={study_dir}", *overrides]
    print(f"[methods] {method}: {shlex.join(cmd)}", flush=True)
    log = root / f"{method}.log"
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    out = {"method": method, "command": shlex.join(cmd), "returncode": proc.returncode,
           "subprocess_wall_seconds": wall, "log": str(log), "study_dir": str(study_dir)}
    summary_path = study_dir / "summary.json"
    if proc.returncode != 0 or not summary_path.is_file():
        tail = log.read_text().splitlines()[-25:]
        out["error"] = "\n".join(tail)
        print(f"[methods] {method} FAILED (rc {proc.returncode}) after {wall:.0f} s:\n  " + "\n  ".join(tail), flush=True)
        return out
    out.update(extract(json.loads(summary_path.read_text())))
    print(f"[methods] {method}: band MAE {out['band_mae_mean']:.2f} ± {out['band_mae_std']:.2f} meV/atom, "
          f"search {out['search_cpu_seconds']:.0f} CPU-s, subprocess {wall:.0f} s", flush=True)
    return out


def extract(s: dict) -> dict:
    """The numbers of one summary.json that the comparison uses."""
    fe, details = s["final_evaluation"], s.get("method_details", {})
    band, free = fe["test_band_energy_mae_mev_per_atom"], fe["test_total_free_energy_mae_mev_per_atom"]
    fe_comp = fe.get("compute", {})
    total = {k: float(s["compute"].get(k, 0.0)) for k in ("cpu_seconds", "gpu_seconds")}
    return {
        "band_mae_mean": band["mean"], "band_mae_std": band["std"], "band_mae_n": band["n"],
        "free_energy_mae_mean": free["mean"], "free_energy_mae_std": free["std"],
        "n_diverged": fe.get("n_diverged"),
        "total_cpu_seconds": total["cpu_seconds"], "total_gpu_seconds": total["gpu_seconds"],
        "search_cpu_seconds": total["cpu_seconds"] - float(fe_comp.get("cpu_seconds", 0.0)),
        "search_gpu_seconds": total["gpu_seconds"] - float(fe_comp.get("gpu_seconds", 0.0)),
        "final_eval_cpu_seconds": float(fe_comp.get("cpu_seconds", 0.0)),
        "study_wall_seconds": s["wall_seconds"],
        "search_wall_seconds": details.get("search_wall_seconds"),
        "final_eval_wall_seconds": fe.get("wall_seconds"),
        "architecture": s["chosen"]["architecture"], "n_parameters": s["chosen"]["n_parameters"],
        "n_in": s["chosen"]["n_in"], "n_out": s["chosen"]["n_out"],
        "training": s.get("training"),
        "counts": {k: details[k] for k in COUNT_KEYS if k in details},
        "method_details": details,
    }


def ratios(rows: list[dict], ref: str = "naswot") -> dict:
    """Search compute and accuracy of every method relative to ``ref`` (> 1: more compute / larger error)."""
    ok = {r["method"]: r for r in rows if "error" not in r}
    if ref not in ok:
        return {}
    b = ok[ref]
    out = {}
    for m, r in ok.items():
        if m == ref:
            continue
        out[f"{m}/{ref}"] = {
            "search_cpu_seconds": r["search_cpu_seconds"] / b["search_cpu_seconds"] if b["search_cpu_seconds"] else None,
            "total_cpu_seconds": r["total_cpu_seconds"] / b["total_cpu_seconds"] if b["total_cpu_seconds"] else None,
            "subprocess_wall_seconds": r["subprocess_wall_seconds"] / b["subprocess_wall_seconds"],
            "band_mae": r["band_mae_mean"] / b["band_mae_mean"],
            "free_energy_mae": r["free_energy_mae_mean"] / b["free_energy_mae_mean"],
        }
    return out


def _f(x, fmt=".1f") -> str:
    return "n/a" if x is None else format(x, fmt)


def table(rows: list[dict]) -> str:
    head = ("| method | test band-energy MAE (meV/atom) | test total-free-energy MAE (meV/atom) | "
            "search CPU-s | total CPU-s | GPU-s | search wall (s) | study wall (s) | subprocess wall (s) | "
            "chosen network | params | trials |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['method']} | FAILED (rc {r['returncode']}) |" + " |" * 10)
            continue
        counts = ", ".join(f"{k[2:]} {v}" for k, v in r["counts"].items())
        lines.append(
            f"| {r['method']} | {r['band_mae_mean']:.2f} ± {r['band_mae_std']:.2f} | "
            f"{r['free_energy_mae_mean']:.2f} ± {r['free_energy_mae_std']:.2f} | {r['search_cpu_seconds']:.1f} | "
            f"{r['total_cpu_seconds']:.1f} | {r['total_gpu_seconds']:.1f} | {_f(r['search_wall_seconds'])} | "
            f"{r['study_wall_seconds']:.1f} | {r['subprocess_wall_seconds']:.1f} | "
            f"{r['n_in']} -> {r['architecture']} -> {r['n_out']} | {r['n_parameters']} | {counts} |")
    return "\n".join(lines)


def ratio_lines(rat: dict) -> list[str]:
    out = ["| ratio | search CPU-s | total CPU-s | subprocess wall | band-energy MAE | total-free-energy MAE |",
           "|---|---|---|---|---|---|"]
    for k, v in rat.items():
        out.append(f"| {k} | {_f(v['search_cpu_seconds'], '.2f')} | {_f(v['total_cpu_seconds'], '.2f')} | "
                   f"{v['subprocess_wall_seconds']:.2f} | {v['band_mae']:.2f} | {v['free_energy_mae']:.2f} |")
    return out


def plot(rows: list[dict], png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401

    ok = [r for r in rows if "error" not in r]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    panels = (("search_cpu_seconds", "search compute / CPU-seconds (final evaluation excluded)"),
              ("subprocess_wall_seconds", "wall time of the whole study / s (CLI subprocess)"))
    for ax, (key, label) in zip(axes, panels):
        for i, r in enumerate(ok):
            x = max(r[key], 1e-3)
            ax.errorbar([x], [r["band_mae_mean"]], yerr=[r["band_mae_std"]], fmt="o", capsize=3, color=f"C{i}")
            ax.annotate(r["method"], (x, r["band_mae_mean"]), textcoords="offset points",
                        xytext=(5, 5 if i % 2 == 0 else -12), fontsize=9)  # alternate: ties stay readable
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        if max(r[key] for r in ok) < 10 * min(max(r[key], 1e-3) for r in ok):  # within a decade: label minors
            ax.xaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("test band-energy MAE / meV/atom\n(mean ± std over final seeds)")
    import textwrap

    fig.suptitle("\n".join(textwrap.wrap(title, 130)), fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    ap.add_argument("--budget", default="quick", choices=["quick", "default"])
    ap.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                    help="extra Hydra override passed to every study (repeatable)")
    ap.add_argument("--output-root", default=None, help="where the study directories go (default: a new temp dir)")
    ap.add_argument("--out", default=str(RESULTS / "methods"), help="results path without suffix")
    ap.add_argument("--replot", action="store_true", help="only redraw the .png from an existing .json")
    ap.add_argument("--data-label", default="bundled Al sample", help="names the data in titles")
    args = ap.parse_args()
    if args.replot:
        old = json.loads(Path(args.out).with_suffix(".json").read_text())
        plot(old["methods"], Path(args.out).with_suffix(".png"), f"Search methods, {old.get('data_label', args.data_label)}, "
             f"budget={old['budget']}" + (f" {' '.join(old['overrides'])}" if old["overrides"] else ""))
        return

    root = Path(args.output_root or tempfile.mkdtemp(prefix="surrogate_hpo_methods_")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    t0 = time.perf_counter()
    rows = [run_method(m, args.budget, args.override, root) for m in args.methods]
    total_wall = time.perf_counter() - t0
    rat = ratios(rows)
    cmdline = shlex.join(["python3", "benchmarks/methods.py", *sys.argv[1:]])
    out = {
        "machine": machine, "command_line": cmdline, "budget": args.budget, "overrides": args.override,
        "output_root": str(root), "cli": _cli(), "total_wall_seconds": total_wall, "data_label": args.data_label,
        "units": {"mae": "meV/atom, mean and std over the final-evaluation seeds on the test snapshot(s)",
                  "compute": "CPU-seconds / GPU-seconds as the study accounts them (trial time x resources)",
                  "wall": "seconds"},
        "methods": rows, "ratios_vs_naswot": rat,
        "tpe_vs_naswot": rat.get("tpe/naswot"),
    }
    outp = Path(args.out)
    outp.parent.mkdir(parents=True, exist_ok=True)
    outp.with_suffix(".json").write_text(json.dumps(out, indent=2, default=str) + "\n")
    title = f"Search methods, {args.data_label}, budget={args.budget}" + (f" {' '.join(args.override)}" if args.override else "")
    if any("error" not in r for r in rows):
        plot(rows, outp.with_suffix(".png"), title)

    tab = table(rows)
    md = [f"# {title}", "", f"Generated by `{cmdline}` on {machine['date_utc']}.", "",
          "MAE: test snapshot, meV/atom, mean ± std over the final seeds of the chosen network. "
          "Search CPU-s = total compute minus the final evaluation; total = search + final evaluation. "
          "Wall: search part, the study (`summary.wall_seconds`), the whole CLI subprocess.", "", tab, "",
          "## Ratios against naswot (> 1: more compute / larger error)", "", *ratio_lines(rat), ""]
    failed = [r for r in rows if "error" in r]
    if failed:
        md += ["## Failures", ""] + [f"### {r['method']} (rc {r['returncode']})\n```\n{r['error']}\n```" for r in failed] + [""]
    md += ["## Machine", "", "```", json.dumps(machine, indent=1), "```", "",
           "## Rerun", "", "```", f"cd {ROOT.name} && {cmdline}", "```",
           f"Study directories (summary.json, logs) were under `{root}`; plot: `{outp.with_suffix('.png').name}`.", ""]
    outp.with_suffix(".md").write_text("\n".join(md))
    print()
    print(tab)
    print()
    print("\n".join(ratio_lines(rat)))
    print(f"\ntotal wall {total_wall:.0f} s; wrote {outp.with_suffix('.json')}, .md, .png; studies under {root}")


if __name__ == "__main__":
    main()
