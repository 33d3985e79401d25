"""Rows per second into a training step: in-memory arrays vs a numpy memmap vs Ray Data shards.

One run, side by side, on one synthetic dataset larger than one shard (default 2 097 152
training rows x F=91 descriptors, nE=84 LDOS values, float32; 16 shards of 131 072 rows):

* ``in-memory``: :func:`surrogate_hpo.data.streaming.in_memory_batches` (all rows scaled
  into one tensor, a global permutation per epoch; loading is not timed);
* ``memmap``: :func:`memmap_batches` over the MALA ``.npy`` files (65 536-row chunks in
  random order, rows permuted inside a chunk, scaled per chunk);
* ``ray-data``: :func:`ray_data_batches` over the Parquet shards (shard order shuffled,
  rows permuted and scaled inside the pipeline by ``map_batches``; ``iter_torch_batches``
  of whole blocks, 4 prefetched, cut into batches as tensor views);
* ``ray-data window=65536``: the same plus Ray's seeded ``local_shuffle_buffer_size`` window
  (``iter_torch_batches(batch_size=...)``, Ray forms every batch itself).

For each, two rates (median of ``--repeats`` full epochs, each a different epoch number):
``deliver``: batches consumed and dropped (the loader alone); ``train``: each batch goes
through a real step of a small MLP (91-128-128-84, ReLU, MSE, fused Adam) on CPU with
``--threads`` torch threads (1 = one 1-CPU trial). Time to the first batch is reported too.
All files are in the page cache after the first pass (24 GiB RAM), so this measures the
loaders' CPU cost, not disk. Ray runs locally with ``--ray-cpus`` CPUs; its data tasks use
``data_cpus=0`` (as inside Tune trials that hold every CPU).

Run: ``python benchmarks/streaming.py [--rows 2097152 --repeats 3 --batch-size 1024]``.
Writes ``benchmarks/results/streaming.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_machine import machine_info  # noqa: E402

from surrogate_hpo.data import SnapshotSet, read_manifest, write_shards  # noqa: E402
from surrogate_hpo.data.streaming import (  # noqa: E402
    in_memory_batches,
    memmap_batches,
    ray_data_batches,
)
from surrogate_hpo.model import build_mlp  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
F, NE = 91, 84


def write_dataset(directory: Path, train_rows: int, n_train: int, seed: int = 0) -> None:
    """``n_train`` training snapshots totalling ~``train_rows`` points + small validation/test."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    per = train_rows // n_train
    nz = 64
    ny = 64
    nx = max(1, per // (ny * nz))
    grids = [(nx, ny, nz)] * n_train + [(16, 16, 16), (16, 16, 16)]
    mix = rng.normal(size=(F, NE)).astype(np.float32) / np.sqrt(F)
    for i, g in enumerate(grids):
        name = f"snap{i:02d}"
        n = int(np.prod(g))
        xin = np.lib.format.open_memmap(directory / f"{name}.in.npy", mode="w+", dtype=np.float32, shape=(*g, 3 + F))
        yout = np.lib.format.open_memmap(directory / f"{name}.out.npy", mode="w+", dtype=np.float32, shape=(*g, NE))
        xf, yf = xin.reshape(n, 3 + F), yout.reshape(n, NE)
        for s in range(0, n, 262144):
            e = min(n, s + 262144)
            d = rng.standard_normal((e - s, F), dtype=np.float32)
            xf[s:e, :3] = 0.0
            xf[s:e, 3:] = d
            yf[s:e] = 0.03 * (1.0 + 0.5 * np.tanh(d @ mix))
        xin.flush()
        yout.flush()
        del xin, yout
        info = {"temperature": 298.0, "number_of_electrons_exact": 12.0, "grid_dimensions": list(g),
                "voxel": (0.2 * np.eye(3)).tolist(), "energy_grid": {"offset": -5.0, "spacing": 0.2, "n": NE}}
        (directory / f"{name}.info.json").write_text(json.dumps(info))


def make_step(threads: int):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = build_mlp(F, NE, widths=[128, 128], activations="relu")
    try:
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    except (RuntimeError, TypeError, ValueError):
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()

    def step(xb: torch.Tensor, yb: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()

    return step


def time_epoch(factory, epoch: int, step=None) -> dict[str, float]:
    t0 = time.perf_counter()
    first = None
    rows = 0
    for xb, yb in factory(epoch):
        if first is None:
            first = time.perf_counter() - t0
        if step is not None:
            step(xb, yb)
        rows += xb.shape[0]
    wall = time.perf_counter() - t0
    return {"rows": rows, "seconds": wall, "rows_per_s": rows / wall, "first_batch_s": first or wall}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_097_152, help="training rows (grid points)")
    ap.add_argument("--snapshots", type=int, default=8, help="training snapshots")
    ap.add_argument("--rows-per-shard", type=int, default=131072)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the training step")
    ap.add_argument("--ray-cpus", type=int, default=2)
    ap.add_argument("--workdir", default="/tmp/surrogate_hpo_streaming_bench")
    ap.add_argument("--keep", action="store_true", help="keep the data in --workdir")
    ap.add_argument("--only", nargs="*", default=None, help="run only these method labels")
    args = ap.parse_args(argv)

    work = Path(args.workdir)
    mala_dir, shard_dir = work / "mala", work / "shards"
    t = time.perf_counter()
    if not (mala_dir / "snap00.in.npy").exists():
        write_dataset(mala_dir, args.rows, args.snapshots)
    gen_s = time.perf_counter() - t
    sset = SnapshotSet.from_directory(mala_dir)
    t = time.perf_counter()
    man_ok = (shard_dir / "manifest.json").exists()
    if man_ok:
        m = read_manifest(shard_dir)
        man_ok = m.raw["rows_per_shard"] == args.rows_per_shard
    if not man_ok:
        write_shards(sset, shard_dir, rows_per_shard=args.rows_per_shard, overwrite=True)
    shard_s = time.perf_counter() - t
    m = read_manifest(shard_dir)
    xs, ys = m.x_scaler, m.y_scaler
    n_rows = m.n_rows("train")
    print(f"data: {n_rows} training rows x (F={F} + nE={NE}) float32 = {n_rows * (F + NE) * 4 / 2**30:.2f} GiB, "
          f"{len(m.files('train'))} shards; generate {gen_s:.1f} s, shards {shard_s:.1f} s")

    import ray

    ray.init(address="local", num_cpus=args.ray_cpus, include_dashboard=False, logging_level="ERROR")
    from ray.data import DataContext

    DataContext.get_current().enable_progress_bars = False
    bs = args.batch_size
    t = time.perf_counter()
    mem = in_memory_batches(sset, batch_size=bs, seed=0, x_scaler=xs, y_scaler=ys)
    mem_load_s = time.perf_counter() - t
    methods: dict[str, Any] = {
        "in-memory": mem,
        "memmap": memmap_batches(sset, batch_size=bs, shuffle_buffer=65536, seed=0, x_scaler=xs, y_scaler=ys),
        "ray-data": ray_data_batches(shard_dir, batch_size=bs, seed=0, prefetch_batches=4),
        "ray-data window=65536": ray_data_batches(shard_dir, batch_size=bs, seed=0, prefetch_batches=4,
                                                  shuffle_buffer=65536),
    }
    if args.only:
        methods = {k: v for k, v in methods.items() if k in args.only or k == "memmap"}
    step = make_step(args.threads)
    # warm-up: page cache, Ray workers, torch kernels (not timed)
    for name, f in methods.items():
        time_epoch(f, 999, step if name == "in-memory" else None)

    raw: dict[str, dict[str, list[dict]]] = {k: {"deliver": [], "train": []} for k in methods}
    for r in range(args.repeats):  # interleaved so drifts hit every method alike
        for name, f in methods.items():
            raw[name]["deliver"].append(time_epoch(f, 2 * r))
            raw[name]["train"].append(time_epoch(f, 2 * r + 1, step))
            print(f"  repeat {r}: {name:<24} deliver {raw[name]['deliver'][-1]['rows_per_s']:>12,.0f} rows/s  "
                  f"train {raw[name]['train'][-1]['rows_per_s']:>10,.0f} rows/s", flush=True)

    def med(name: str, kind: str, key: str) -> float:
        return statistics.median(x[key] for x in raw[name][kind])

    summary = {}
    for name in methods:
        summary[name] = {
            "deliver_rows_per_s": med(name, "deliver", "rows_per_s"),
            "train_rows_per_s": med(name, "train", "rows_per_s"),
            "first_batch_s": med(name, "deliver", "first_batch_s"),
        }
    ref = summary["memmap"]
    for name, s in summary.items():
        s["deliver_vs_memmap"] = s["deliver_rows_per_s"] / ref["deliver_rows_per_s"]
        s["train_vs_memmap"] = s["train_rows_per_s"] / ref["train_rows_per_s"]

    head = ("| method | deliver rows/s | train rows/s | train / memmap | deliver / memmap | first batch (s) |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: |")
    lines = [head] + [f"| {k} | {s['deliver_rows_per_s']:,.0f} | {s['train_rows_per_s']:,.0f} | "
                      f"{s['train_vs_memmap']:.2f} | {s['deliver_vs_memmap']:.2f} | {s['first_batch_s']:.2f} |"
                      for k, s in summary.items()]
    table = "\n".join(lines)
    print(table)

    mi = machine_info()
    settings = {"train_rows": n_rows, "n_features": F, "n_energies": NE, "batch_size": bs,
                "rows_per_shard": args.rows_per_shard, "n_shards": len(m.files("train")),
                "repeats": args.repeats, "torch_threads": args.threads, "ray_cpus": args.ray_cpus,
                "mlp": "91-128-128-84 relu, MSE, Adam(fused)", "memmap_chunk_rows": 65536,
                "ray_data": {"data_cpus": 0.0, "concurrency": 2, "in_block_shuffle": True,
                             "shard_order_shuffle": True, "preserve_order": True},
                "timings_s": {"generate_mala": gen_s, "write_shards": shard_s, "in_memory_load": mem_load_s}}
    out = {"benchmark": "streaming", "machine": mi, "settings": settings, "summary": summary, "raw": raw,
           "ray": ray.__version__}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "streaming.json").write_text(json.dumps(out, indent=1))
    md = [f"# Streaming benchmark: rows/s into a training step ({mi['date_utc']})", "",
          f"Machine: {mi['node']}, {mi['cpu_count']} CPUs, {mi['platform']}, GPU: {mi.get('gpu')}; "
          f"torch {mi.get('torch')}, ray {ray.__version__}, load average {mi['load_average_1_5_15min']}.", "",
          f"Data: {n_rows:,} training rows x (F={F} + nE={NE}) float32 "
          f"({n_rows * (F + NE) * 4 / 2**30:.2f} GiB), {len(m.files('train'))} shards of "
          f"{args.rows_per_shard:,} rows; batch {bs}; torch threads {args.threads}; Ray {args.ray_cpus} CPUs; "
          f"median of {args.repeats} epochs each. `deliver` = loader alone, `train` = with a "
          "91-128-128-84 MLP forward+backward+Adam step per batch.", "", table, ""]
    (RESULTS / "streaming.md").write_text("\n".join(md))
    ray.shutdown()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return out


if __name__ == "__main__":
    main()
