"""Ground truth for LDOS networks: architectures of the default space trained to convergence.

Every architecture of a fixed, stratified list (every depth x first-layer width x
first-layer activation of ``search_space=default``, three per stratum spread over the
parameter count) is trained with ONE fixed policy and several seeds, to convergence
(early stopping on the validation loss), and measured on held-out test snapshots. One row
per training in ``<out>.parquet``; the list, the policy, the data and the command in
``<out>.json``. The study is resumable: run the same command again and only the
(architecture, seed) pairs missing from the table are trained.

Data: a MALA folder (default ``data/al4_gt``: 30 snapshots of 4-atom fcc Al at 298 K, the
bundled sample's MD run continued; regenerate with the command in ``REGENERATE``).

Run::

    python3 benchmarks/ldos_ground_truth.py                 # resumable; ~1 min per training on 1 core
    python3 benchmarks/ldos_ground_truth.py --summary       # progress, epoch-cap fraction, noise ceiling
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_machine import machine_info  # noqa: E402

REGENERATE = ("surrogate-hpo-generate --config-name=sample format=mala keep_pw_output=true "
              "first_index=0 n_snapshots=30 output_dir=data/al4_gt")
NAMES = [f"Al_298K_{i:03d}" for i in range(30)]
SPLIT = {"train": NAMES[:18], "validation": NAMES[18:22], "test": NAMES[22:30]}
#: the one fixed training policy (documented in RESULTS.md)
POLICY = {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 256, "max_epochs": 400,
          "early_stopping_patience": 10, "lr_decay_patience": 4, "lr_decay_factor": 0.5,
          "weight_decay": 0.0, "device": "cpu"}
ROWS_PER_TRAIN_SNAPSHOT = 2000
SEEDS = (0, 1, 2)
SPACE = {"n_layers": (2, 3), "width": (32, 64, 128), "activation": ("sigmoid", "relu", "leakyrelu", "tanh")}


def all_architectures() -> list[tuple[tuple[int, ...], tuple[str, ...]]]:
    """Every (widths, activations) of the default space, in grid order."""
    import itertools

    pairs = list(itertools.product(SPACE["width"], SPACE["activation"]))
    out = []
    for n in SPACE["n_layers"]:
        for combo in itertools.product(pairs, repeat=n):
            out.append((tuple(p[0] for p in combo), tuple(p[1] for p in combo)))
    return out


def n_parameters(widths: tuple[int, ...], n_in: int = 91, n_out: int = 84) -> int:
    sizes = [n_in, *widths, n_out]
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def describe(widths: tuple[int, ...], activations: tuple[str, ...]) -> str:
    return " -> ".join(f"{w} {a}" for w, a in zip(widths, activations))


def select_architectures(per_stratum: int = 3, seed: int = 0) -> list[dict[str, Any]]:
    """Per stratum (depth, first width, first activation): the members sorted by parameter
    count are cut into ``per_stratum`` equal slices and one network is drawn from each
    (seeded), so every stratum spans small to large networks and the later layers vary."""
    rng = np.random.default_rng(seed)
    strata: dict[tuple, list] = {}
    for w, a in all_architectures():
        strata.setdefault((len(w), w[0], a[0]), []).append((w, a))
    chosen = []
    for key in sorted(strata, key=str):
        members = sorted(strata[key], key=lambda c: (n_parameters(c[0]), describe(*c)))
        for part in np.array_split(np.arange(len(members)), per_stratum):
            w, a = members[int(rng.choice(part))]
            chosen.append({"architecture": describe(w, a), "widths": list(w), "activations": list(a)})
    return chosen


def _data_config(path: Path) -> Any:
    from surrogate_hpo.data.config import DataConfig

    return DataConfig.for_folder(str(path), **SPLIT, max_train_points_per_snapshot=ROWS_PER_TRAIN_SNAPSHOT)


def train_and_measure(config: dict[str, Any], *, data: Any) -> None:
    """Tune trial: train one (architecture, seed) with POLICY; report every ground-truth metric."""
    import torch
    from ray import tune

    from surrogate_hpo.data.energy_metrics import EnergyEvaluator
    from surrogate_hpo.study.training_trial import predict_ldos, train_network

    cpu0, t0 = time.process_time(), time.perf_counter()
    config = config["trial"]
    arch = {"widths": config["widths"], "activations": config["activations"]}
    fit = train_network(arch, POLICY, data, seed=int(config["seed"]), threads=1)
    row: dict[str, Any] = {"epochs": int(fit.result.epochs_run), "best_epoch": int(fit.result.best_epoch),
                           "reached_epoch_cap": bool(fit.result.epochs_run >= POLICY["max_epochs"]),
                           "diverged": bool(fit.result.diverged), "val_loss": float(fit.result.best_val_loss),
                           "val_band_energy_mae_mev_per_atom": float(fit.val_band_energy_mae)}
    if not fit.result.diverged:
        preds = {s.name: predict_ldos(fit.network, data, s) for s in data.test}
        sq = sum(float(np.sum((preds[s.name].astype(np.float64) - np.asarray(s.ldos, np.float64).reshape(
            -1, s.n_energies)) ** 2)) for s in data.test)
        n = sum(s.n_points * s.n_energies for s in data.test)
        row["test_ldos_rmse"] = math.sqrt(sq / n)
        errs = EnergyEvaluator(data.test, total_energy=True).errors(lambda s: preds[s.name])
        row["test_band_energy_mae_mev_per_atom"] = errs["band_energy_mae_mev_per_atom"]
        row["test_total_free_energy_mae_mev_per_atom"] = errs.get("total_free_energy_mae_mev_per_atom", math.nan)
        row["test_fermi_fallbacks"] = errs["fermi_fallbacks"]
    row["wall_seconds"] = time.perf_counter() - t0
    row["cpu_seconds"] = time.process_time() - cpu0
    row["torch_threads"] = torch.get_num_threads()
    tune.report(row)


class _TableWriter:
    """A Tune callback that appends one row per finished trial to the Parquet table (atomic)."""

    def __new__(cls, *args: Any, **kwargs: Any):  # built on ray.tune.Callback lazily
        from ray.tune import Callback

        class Writer(Callback):
            def __init__(self, path: Path, table: pd.DataFrame, n_params: dict[str, int]) -> None:
                self.path, self.table, self.n_params = path, table, n_params

            def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
                r = dict(trial.last_result or {})
                c = trial.config["trial"]
                row = {"architecture": describe(tuple(c["widths"]), tuple(c["activations"])), "seed": int(c["seed"]),
                       "n_layers": len(c["widths"]), "first_width": int(c["widths"][0]),
                       "first_activation": c["activations"][0],
                       "n_parameters": self.n_params[describe(tuple(c["widths"]), tuple(c["activations"]))],
                       "widths": json.dumps(c["widths"]), "activations": json.dumps(c["activations"]),
                       "status": "ok" if "val_loss" in r else "error",
                       "finished_at": time.time()}
                for k in ("val_loss", "val_band_energy_mae_mev_per_atom", "test_ldos_rmse",
                          "test_band_energy_mae_mev_per_atom", "test_total_free_energy_mae_mev_per_atom",
                          "test_fermi_fallbacks", "epochs", "best_epoch", "reached_epoch_cap", "diverged",
                          "wall_seconds", "cpu_seconds", "torch_threads"):
                    if k in r:
                        row[k] = r[k]
                self.table = pd.concat([self.table, pd.DataFrame([row])], ignore_index=True)
                tmp = self.path.with_name(f".{self.path.name}.tmp")
                self.table.to_parquet(tmp, index=False)
                os.replace(tmp, self.path)
                done = int((self.table["status"] == "ok").sum())
                print(f"[ground truth] {done} trainings in the table | {row['architecture']} seed {row['seed']}: "
                      f"{r.get('epochs')} epochs, test band {r.get('test_band_energy_mae_mev_per_atom', math.nan):.2f} "
                      f"meV/atom, {r.get('wall_seconds', math.nan):.0f} s", flush=True)

            on_trial_error = on_trial_complete

        return Writer(*args, **kwargs)


def run(out: Path, data_dir: Path, cpus: int) -> None:
    archs = select_architectures()
    n_params = {a["architecture"]: n_parameters(tuple(a["widths"])) for a in archs}
    table = pd.read_parquet(out.with_suffix(".parquet")) if out.with_suffix(".parquet").exists() else pd.DataFrame()
    done = set()
    if len(table):
        table = table[table["status"] == "ok"].reset_index(drop=True)  # failed trainings run again
        done = {(a, int(s)) for a, s in zip(table["architecture"], table["seed"])}
    todo = [{**a, "seed": s} for s in SEEDS for a in archs if (a["architecture"], s) not in done]
    manifest = {
        "what": "LDOS ground truth: fixed architectures x seeds trained to convergence with one policy",
        "command": "python3 " + " ".join(shlex.quote(a) for a in sys.argv),
        "data": {"path": str(data_dir), "regenerate": REGENERATE, "split": SPLIT,
                 "rows_per_train_snapshot": ROWS_PER_TRAIN_SNAPSHOT},
        "policy": POLICY, "seeds": list(SEEDS), "architectures": archs, "machine": machine_info(),
        "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
    }
    out.with_suffix(".json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"[ground truth] {len(archs)} architectures x {len(SEEDS)} seeds: {len(done)} trained, {len(todo)} to go",
          flush=True)
    if not todo:
        return
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    import ray
    from ray import tune

    from surrogate_hpo.data.prepared import prepare_data

    data = prepare_data(_data_config(data_dir), seed=0)
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(train_and_measure, data=data), {"cpu": 1}),
        param_space={"trial": tune.grid_search(todo)},
        tune_config=tune.TuneConfig(reuse_actors=True),
        run_config=tune.RunConfig(name="ground_truth", storage_path=str((out.parent / ".tune").resolve()),
                                  callbacks=[_TableWriter(out.with_suffix(".parquet"), table, n_params)], verbose=0),
    )
    tuner.fit()
    ray.shutdown()


def summary(out: Path) -> None:
    """Progress, the epoch-cap fraction and the noise ceiling of the table so far."""
    from score_study import noise_ceiling  # noqa: E402

    path = out.with_suffix(".parquet")
    if not path.exists():
        print(f"[ground truth] no table yet at {path}")
        return
    table = pd.read_parquet(path)
    ok = table[table["status"] == "ok"]
    n_archs = len(select_architectures())
    print(f"[ground truth] {len(ok)} of {n_archs * len(SEEDS)} trainings done ({ok['architecture'].nunique()} "
          f"architectures); {int(ok['reached_epoch_cap'].sum())} reached the epoch cap "
          f"({100 * ok['reached_epoch_cap'].mean():.1f}%); epochs {int(ok['epochs'].min())}-{int(ok['epochs'].max())}")
    for metric in ("val_loss", "test_band_energy_mae_mev_per_atom"):
        if ok.groupby("architecture")["seed"].nunique().min() >= 2:
            ceiling = noise_ceiling(ok, metric)
            print(f"  noise ceiling ({metric}): Kendall tau {ceiling['mean']:.2f} (min {ceiling['min']:.2f} over "
                  f"{ceiling['n_splits']} splits)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ldos_ground_truth")
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "al4_gt")
    ap.add_argument("--cpus", type=int, default=1, help="trainings at once (one CPU each)")
    ap.add_argument("--list", action="store_true", help="print the architecture list and exit")
    ap.add_argument("--summary", action="store_true", help="print progress and the noise ceiling and exit")
    args = ap.parse_args()
    if args.list:
        for a in select_architectures():
            print(a["architecture"], n_parameters(tuple(a["widths"])))
        return
    if args.summary:
        summary(args.out)
        return
    run(args.out, args.data, args.cpus)


if __name__ == "__main__":
    main()
