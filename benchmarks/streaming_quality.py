"""Does a network trained from streamed shards reach the accuracy of one trained from memory?

One network, one policy, the same training rows and seeds, fed four ways (side by side in
one run):

* ``memory``: every training row in one tensor, a global permutation per epoch;
* ``stream, 1 shard per batch``: Ray Data over the Parquet shards (shard order shuffled,
  rows permuted inside a shard): each batch comes from one shard, a region of one snapshot;
* ``stream, mix_shards=auto``: the product's default: every batch draws from the shards
  held at once (as many as fit in 512 MiB);
* ``stream, 40 000-row window``: Ray's local shuffle window instead;
* ``memmap``: the MALA ``.npy`` files memory-mapped, 65 536-row chunks in random order (no
  Ray), the out-of-core path streaming is measured against.

Reported per way: the test band-energy MAE (meV/atom, mean ± std over the seeds), epochs to
early stopping, and the training rate (rows/s over the epochs, validation included).

Run: ``python3 benchmarks/streaming_quality.py [--data sample|data/al4_gt --seeds 3]``; writes
``benchmarks/results/streaming_quality.{json,md}``. ``sample`` (the default) is the bundled Al
set with its default split (8 / 1 / 1 snapshots of 24^3 points); a folder of 30 snapshots
``Al_298K_000..029`` is split 8 / 2 / 4.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_machine import machine_info  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
NAMES = [f"Al_298K_{i:03d}" for i in range(30)]
ARCH = {"widths": [128, 64], "activations": ["relu", "tanh"]}
POLICY = {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 256, "max_epochs": 80,
          "early_stopping_patience": 8, "lr_decay_patience": 4, "lr_decay_factor": 0.5}


@dataclasses.dataclass(frozen=True)
class MemmapStream:
    """The memmap batch factory behind the train_stream interface (no Ray)."""

    snapshots: tuple
    n_rows: int

    def batches(self, *, batch_size: int, seed: int, device: Any, x_scaler: Any, y_scaler: Any):
        from surrogate_hpo.data import memmap_batches

        return memmap_batches(list(self.snapshots), batch_size=batch_size, seed=seed, device=device,
                              x_scaler=x_scaler, y_scaler=y_scaler)

    def describe(self) -> str:
        return f"memmap of {len(self.snapshots)} snapshots"


def data_config(data: str) -> Any:
    """The typed data config for ``sample`` (the bundled set) or a folder of ``Al_298K_*`` snapshots."""
    from surrogate_hpo.data.config import DataConfig

    if data != "sample":
        split = {"train": NAMES[:8], "validation": NAMES[8:10], "test": NAMES[26:30]}
        return DataConfig.for_folder(data, **split, streaming=False)
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from surrogate_hpo.util.typed_config import parse

    conf_dir = str(ROOT / "surrogate_hpo" / "conf")
    with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
        composed = OmegaConf.to_container(compose(config_name="config", overrides=["data=sample"]), resolve=True)
    return dataclasses.replace(parse(DataConfig, composed["data"], "data"), streaming=False)


def run(data: str, seeds: int, rows_per_shard: int, work: Path) -> dict[str, Any]:
    import ray

    from surrogate_hpo.data import write_shards
    from surrogate_hpo.data.prepared import load_snapshot_set, prepare_training_data
    from surrogate_hpo.data.shards import read_manifest
    from surrogate_hpo.data.train_stream import TrainStream, mix_shards_for
    from surrogate_hpo.study.training_trial import predict_ldos, train_network

    cfg = data_config(data)
    sset = load_snapshot_set(cfg)
    split = {part: [snap.name for snap in getattr(sset, part)] for part in ("train", "validation", "test")}
    memory = prepare_training_data(sset, cfg, seed=0)
    shards = work / "shards"
    if shards.exists():
        shutil.rmtree(shards)
    write_shards(sset, shards, rows_per_shard=rows_per_shard, input_scaling=cfg.input_scaling,
                 output_scaling=cfg.output_scaling)
    manifest = read_manifest(shards)
    n_shards = len(manifest.files("train"))
    auto = mix_shards_for("auto", manifest, n_shards)
    base = TrainStream(shard_dir=str(shards), n_rows=manifest.n_rows("train"), n_shards=n_shards)
    ways = {
        "memory": None,
        "stream, 1 shard per batch": dataclasses.replace(base, mix_shards=1),
        f"stream, mix_shards=auto ({auto})": dataclasses.replace(base, mix_shards=auto),
        "stream, 40 000-row window": dataclasses.replace(base, shuffle_buffer=40000),
        "memmap": MemmapStream(tuple(sset.train), memory.n_train_rows),
    }
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    rows: list[dict[str, Any]] = []
    for way, stream in ways.items():
        data = memory if stream is None else dataclasses.replace(memory, train_stream=stream)
        for seed in range(seeds):
            t0 = time.perf_counter()
            fit = train_network(ARCH, POLICY, data, seed=seed, threads=1)
            seconds = time.perf_counter() - t0
            errs = data.test_errors(lambda s: predict_ldos(fit.network, data, s))
            epochs = int(fit.result.epochs_run)
            rows.append({"way": way, "seed": seed, "epochs": epochs, "seconds": seconds,
                         "rows_per_second": data.n_train_rows * epochs / seconds,
                         "test_band_energy_mae_mev_per_atom": errs["band_energy_mae_mev_per_atom"],
                         "val_loss": float(fit.result.best_val_loss)})
            print(f"[streaming quality] {way}, seed {seed}: {epochs} epochs, "
                  f"{rows[-1]['test_band_energy_mae_mev_per_atom']:.2f} meV/atom, "
                  f"{rows[-1]['rows_per_second']:.0f} rows/s", flush=True)
    ray.shutdown()
    return {"rows": rows, "n_train_rows": memory.n_train_rows, "n_shards": n_shards, "rows_per_shard": rows_per_shard,
            "mix_shards_auto": auto, "split": split, "architecture": ARCH, "policy": POLICY}


def table(res: dict[str, Any]) -> str:
    lines = ["| way | test band-energy MAE (meV/atom) | epochs | rows/s | rate vs memory | rate vs memmap |",
             "|---|---|---|---|---|---|"]
    by: dict[str, list[dict]] = {}
    for r in res["rows"]:
        by.setdefault(r["way"], []).append(r)
    mem_rate = statistics.median(r["rows_per_second"] for r in by["memory"])
    memmap_rate = statistics.median(r["rows_per_second"] for r in by.get("memmap", by["memory"]))
    for way, rs in by.items():
        mae = [r["test_band_energy_mae_mev_per_atom"] for r in rs]
        rate = statistics.median(r["rows_per_second"] for r in rs)
        lines.append(f"| {way} | {statistics.mean(mae):.2f} ± {statistics.pstdev(mae):.2f} | "
                     f"{statistics.mean(r['epochs'] for r in rs):.0f} | {rate:.0f} | {rate / mem_rate:.2f}x | "
                     f"{rate / memmap_rate:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="sample", help="'sample' (bundled) or a folder of Al_298K_* snapshots")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rows-per-shard", type=int, default=6912, help="2 shards per 24^3 snapshot")
    ap.add_argument("--work", type=Path, default=Path("/tmp/streaming_quality"))
    ap.add_argument("--out", type=Path, default=RESULTS / "streaming_quality")
    args = ap.parse_args()
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    res = run(args.data, args.seeds, args.rows_per_shard, args.work)
    res["machine"] = machine_info()
    res["command"] = "python3 benchmarks/streaming_quality.py " + " ".join(sys.argv[1:])
    text = table(res)
    print(text)
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(f"# Streamed vs in-memory training\n\n{res['n_train_rows']} training rows in "
                                           f"{res['n_shards']} shards; `{res['command']}`\n\n{text}\n")


if __name__ == "__main__":
    main()
