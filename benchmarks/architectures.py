"""The networks each search method chose: size and inference time per grid point (paper figure 6).

Reads a ``benchmarks/methods.py`` result (``--methods-json``, default
``benchmarks/results/methods.json``): for every method that finished, the chosen network
from its study's ``best_config.json`` (widths, activations, descriptor count F and LDOS
length nE). Each network is built with fresh weights (inference time does not depend on
the values) and timed side by side in one run, interleaved, on the same ``--points``
random descriptor rows (float32, CPU, ``--threads`` torch threads, ``torch.inference_mode``,
chunks of ``--chunk`` rows as a prediction of a whole snapshot would use), median of
``--repeats``. Reported per method: hidden layers, parameters, multiply-accumulates per
grid point, inference time per grid point (ns) and per snapshot of ``--snapshot-points``
grid points (s; default: the test snapshot's grid of the study), and the test band-energy
MAE from the methods result for reference.

Writes ``<out>.json`` / ``.md`` / ``.png`` (parameters and inference time per method,
labelled with the architecture).

Run: ``python3 benchmarks/architectures.py --methods-json benchmarks/results/methods.json
--out benchmarks/results/architectures``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_machine import machine_info  # noqa: E402


def chosen_networks(methods_json: Path) -> list[dict[str, Any]]:
    """Per finished method: its chosen architecture (and what the methods run reported)."""
    res = json.loads(methods_json.read_text())
    out = []
    for r in res["methods"]:
        if "error" in r:
            continue
        path = Path(r["study_dir"]) / "best_config.json"
        if path.is_file():
            best = json.loads(path.read_text())["architecture"]
        else:  # the study directories are gone: the methods result names the network
            best = {**parse_architecture(r["architecture"]), "n_in": r["n_in"], "n_out": r["n_out"],
                    "architecture": r["architecture"], "n_parameters": r["n_parameters"]}
        out.append({"method": r["method"], "widths": list(best["widths"]), "activations": list(best["activations"]),
                    "n_in": int(best["n_in"]), "n_out": int(best["n_out"]), "architecture": best["architecture"],
                    "n_parameters": int(best["n_parameters"]), "band_mae_mean": r.get("band_mae_mean"),
                    "band_mae_std": r.get("band_mae_std"), "study_dir": r["study_dir"]})
    return out


def parse_architecture(text: str) -> dict[str, list]:
    """``"128 relu -> 64 tanh"`` (``Candidate.describe()``) as widths and activations."""
    layers = [part.split() for part in text.split("->")]
    return {"widths": [int(w) for w, _ in layers], "activations": [a for _, a in layers]}


def macs_per_point(widths: list[int], n_in: int, n_out: int) -> int:
    """Multiply-accumulates of one forward pass for one grid point."""
    dims = [n_in, *widths, n_out]
    return int(sum(a * b for a, b in zip(dims[:-1], dims[1:])))


def test_grid_points(study_dir: Path) -> int | None:
    """Grid points of the study's first test snapshot (from its data config), if it can be read."""
    try:
        from surrogate_hpo.data.prepared import load_snapshot_set

        cfg = json.loads((study_dir / "study.json").read_text())["config"]
        from surrogate_hpo.data.config import DataConfig
        from surrogate_hpo.util.typed_config import parse

        sset = load_snapshot_set(parse(DataConfig, cfg["data"], "data"))
        return int(sset.test[0].n_points)
    except Exception:  # noqa: BLE001 - only a default for --snapshot-points
        return None


def time_inference(nets: list[dict[str, Any]], points: int, chunk: int, repeats: int, threads: int) -> None:
    """Median seconds per grid point of each network (``t_per_point_s``), timed interleaved."""
    import torch

    from surrogate_hpo.model import Architecture

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    by_f: dict[int, torch.Tensor] = {}
    models = []
    for n in nets:
        if n["n_in"] not in by_f:
            by_f[n["n_in"]] = torch.from_numpy(rng.standard_normal((points, n["n_in"]), dtype=np.float32))
        m = Architecture.from_dict({"widths": n["widths"], "activations": n["activations"]}).build(n["n_in"], n["n_out"])
        models.append(m.eval())

    def once(m, x) -> float:
        t0 = time.perf_counter()
        with torch.inference_mode():
            for a in range(0, x.shape[0], chunk):
                m(x[a:a + chunk])
        return time.perf_counter() - t0

    for m, n in zip(models, nets):  # warm-up
        once(m, by_f[n["n_in"]])
    times: list[list[float]] = [[] for _ in nets]
    for _ in range(repeats):
        for i, (m, n) in enumerate(zip(models, nets)):
            times[i].append(once(m, by_f[n["n_in"]]))
    for n, t in zip(nets, times):
        n["t_per_point_s"] = statistics.median(t) / points
        n["t_runs_s"] = t


def plot(nets: list[dict[str, Any]], png: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 0.6 * len(nets) + 2.2), sharey=True)
    y = np.arange(len(nets))
    labels = [f"{n['method']}\n{n['architecture']}" for n in nets]
    axes[0].barh(y, [n["n_parameters"] for n in nets], color="tab:blue")
    axes[0].set_xlabel("parameters")
    axes[1].barh(y, [n["t_per_point_s"] * 1e9 for n in nets], color="tab:orange")
    axes[1].set_xlabel("inference time per grid point / ns (CPU)")
    axes[0].set_yticks(y, labels, fontsize=8)
    axes[0].invert_yaxis()
    for ax in axes:
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods-json", default=str(ROOT / "benchmarks" / "results" / "methods.json"))
    ap.add_argument("--points", type=int, default=65536, help="descriptor rows timed per repeat")
    ap.add_argument("--chunk", type=int, default=65536, help="rows per forward pass")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--snapshot-points", type=int, default=None, help="grid points of a snapshot (default: the test snapshot's)")
    ap.add_argument("--title", default=None)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "architectures"))
    args = ap.parse_args(argv)

    nets = chosen_networks(Path(args.methods_json))
    if not nets:
        raise SystemExit(f"{args.methods_json}: no finished method")
    snap_points = args.snapshot_points or test_grid_points(Path(nets[0]["study_dir"]))
    time_inference(nets, args.points, args.chunk, args.repeats, args.threads)
    for n in nets:
        n["hidden_layers"] = len(n["widths"])
        n["macs_per_point"] = macs_per_point(n["widths"], n["n_in"], n["n_out"])
        n["t_per_point_ns"] = n["t_per_point_s"] * 1e9
        n["t_per_snapshot_s"] = n["t_per_point_s"] * snap_points if snap_points else None

    head = ("| method | chosen network (F -> hidden -> nE) | hidden layers | parameters | MAC/point | "
            "inference ns/point | s per snapshot | test band MAE (meV/atom) |")
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for n in nets:
        mae = f"{n['band_mae_mean']:.1f} ± {n['band_mae_std']:.1f}" if n.get("band_mae_mean") is not None else "n/a"
        snap = f"{n['t_per_snapshot_s']:.3f}" if n["t_per_snapshot_s"] is not None else "n/a"
        lines.append(f"| {n['method']} | {n['n_in']} -> {n['architecture']} -> {n['n_out']} | {n['hidden_layers']} | "
                     f"{n['n_parameters']:,} | {n['macs_per_point']:,} | {n['t_per_point_ns']:.0f} | {snap} | {mae} |")
    table = "\n".join(lines)
    print(table)
    mi = machine_info()
    cmd = shlex.join(["python3", "benchmarks/architectures.py", *(argv or sys.argv[1:])])
    out = {"benchmark": "architectures", "machine": mi, "command_line": cmd, "methods_json": args.methods_json,
           "settings": {"points": args.points, "chunk": args.chunk, "repeats": args.repeats, "threads": args.threads,
                        "snapshot_points": snap_points, "dtype": "float32", "device": "cpu"},
           "networks": nets}
    outp = Path(args.out)
    outp.parent.mkdir(parents=True, exist_ok=True)
    outp.with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")
    title = args.title or f"Chosen networks ({Path(args.methods_json).stem})"
    md = [f"# {title}", "", f"Generated by `{cmd}` on {mi['date_utc']} ({mi['node']}, {mi['cpu_count']} CPUs, "
          f"GPU: {mi.get('gpu')}).", "",
          f"Inference: float32 on the CPU, {args.threads} torch thread(s), {args.points:,} rows in chunks of "
          f"{args.chunk:,}, median of {args.repeats}; per snapshot = {snap_points} grid points.", "", table, ""]
    outp.with_suffix(".md").write_text("\n".join(md))
    plot(nets, outp.with_suffix(".png"), title)
    print(f"wrote {outp.with_suffix('.json')}, .md, .png")
    return out


if __name__ == "__main__":
    main()
