"""ACSD vs trained-network error across descriptor settings (the paper's figures 7 and 8).

Data: the bundled Al sample (10 snapshots, 24^3 grid, 84 LDOS energies; default split
``Al_298K_000``..``007`` train, ``008`` validation, ``009`` test) or ``--data DIR``, any MALA
folder whose sidecars hold the atoms (e.g. ``surrogate-hpo-generate --config-name=al32``:
32-atom cells, 45^3 grid; same default split rule). Two sweeps of the
bispectrum settings (LAMMPS descriptors through the on-disk cache):

* figure 7: ``rcutfac`` in [3.0, 3.5, 4.0, 4.67637, 5.5] Å with ``twojmax`` 10;
* figure 8: ``twojmax`` in [2, 4, 6, 8, 10] with ``rcutfac`` 4.67637 Å.

For every setting:

* **ACSD route**: :func:`surrogate_hpo.descriptors.acsd.acsd` (P = Q = 200) on the first two
  training snapshots (as the ``acsd`` search method does), the mean of the two, each snapshot
  with its own seeded pairs, the same pairs for every setting;
* **training route**: a fixed small MLP (``[64, 64]`` leaky ReLU, Adam lr 3e-3, batch 512,
  ``--epochs`` epochs, no early stopping, constant LR, the weights of the best validation
  loss kept) trained on ``--points`` random grid points per training snapshot (scalers
  fitted on the training split), for ``--seeds`` seeds;
  the band-energy error on the test snapshot in meV/atom (mean over seeds, and the spread).

Reported: the table, Spearman's rho and Kendall's tau between the ACSD and the mean trained
error (per sweep and over the 9 distinct settings), the time of each route (ACSD on
descriptors already computed; training + test evaluation; the descriptor computation,
shared by both routes, separately: cache hits take milliseconds, a LAMMPS run seconds),
written to ``benchmarks/results/acsd_vs_training.json`` and a two-panel plot
``benchmarks/results/acsd_vs_training.png``.

Run: ``python benchmarks/acsd_vs_training.py [--seeds 5] [--epochs 30] [--points 8000]
[--threads 2] [--data DIR]`` (about 5 minutes on 2 cores with the descriptors cached -- ``--seeds 3
--epochs 8 --points 4000`` takes 30 s; the first run computes 90 descriptor grids with
LAMMPS, 2-5 s each).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from bench_machine import machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RCUT_SWEEP = [3.0, 3.5, 4.0, 4.67637, 5.5]
TWOJ_SWEEP = [2, 4, 6, 8, 10]
RCUT_FIXED, TWOJ_FIXED = 4.67637, 10


def _cache_dir() -> Path:
    root = os.environ.get("SURROGATE_HPO_CACHE")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "surrogate_hpo") / "descriptors"


def _descriptors(sset, rcutfac: float, twojmax: int, cache: Path):
    """The snapshot set with every snapshot's descriptors replaced by this setting's."""
    import dataclasses as dc

    from surrogate_hpo.data import SnapshotSet
    from surrogate_hpo.data.sidecar import atoms_from_dict
    from surrogate_hpo.descriptors.bispectrum import BispectrumSettings
    from surrogate_hpo.descriptors.cache import cache_key, cached_bispectrum

    t0, computed = time.perf_counter(), 0
    splits = {}
    for split in ("train", "validation", "test"):
        snaps = []
        for s in getattr(sset, split):
            atoms = atoms_from_dict(s.info["atoms"])
            grid = tuple(int(g) for g in s.ldos.shape[:3])
            key = cache_key(atoms, grid, dc.replace(BispectrumSettings(), rcutfac=float(rcutfac), twojmax=int(twojmax)))
            computed += not (cache / f"bispectrum-{key}.npy").is_file()
            d = cached_bispectrum(atoms, grid, rcutfac=rcutfac, twojmax=twojmax, cache_dir=cache)
            snaps.append(dataclasses.replace(s, descriptors=np.ascontiguousarray(d[..., 3:])))
        splits[split] = snaps
    out = SnapshotSet(splits["train"], splits["validation"], splits["test"], directory=sset.directory)
    return out, time.perf_counter() - t0, computed


def _acsd_route(sset, n_snapshots: int, seed: int) -> tuple[float, list[float], float]:
    from surrogate_hpo.descriptors.acsd import acsd

    t0 = time.perf_counter()
    per = []
    for k, s in enumerate(sset.train[:n_snapshots]):
        feats = np.asarray(s.descriptors).reshape(-1, s.descriptors.shape[-1])
        ldos = np.asarray(s.ldos).reshape(-1, s.ldos.shape[-1])
        per.append(acsd(feats, ldos, n_points=200, n_partners=200, seed=np.random.default_rng([seed, k])))
    return float(np.mean(per)), per, time.perf_counter() - t0


def _training_route(path, sset, args) -> dict:
    import torch

    from surrogate_hpo.data.config import DataConfig
    from surrogate_hpo.data.energy_metrics import EnergyEvaluator
    from surrogate_hpo.data.prepared import prepare_training_data
    from surrogate_hpo.model import TrainingConfig, build_mlp, train
    from surrogate_hpo.study.training_trial import predict_ldos

    t0 = time.perf_counter()
    data = prepare_training_data(sset, DataConfig.for_folder(max_train_points_per_snapshot=args.points), seed=0)
    test = EnergyEvaluator(data.test)
    t_prep = time.perf_counter() - t0
    runs = []
    for seed in range(args.seeds):
        t1 = time.perf_counter()
        torch.manual_seed(seed)
        net = build_mlp(data.n_features, data.n_energies, widths=[64, 64], activations=["leakyrelu"])
        tc = TrainingConfig(optimizer="adam", learning_rate=3e-3, batch_size=512, max_epochs=args.epochs,
                            early_stopping_patience=None, lr_decay_patience=None, seed=seed, device="cpu")
        res = train(net, data.train_x, data.train_y, data.val_x, data.val_y, tc)
        errs = test.errors(lambda s: predict_ldos(net, data, s))
        runs.append({"seed": seed, "band_energy_error_mev_per_atom": errs["band_energy_mae_mev_per_atom"],
                     "best_val_loss": float(res.best_val_loss), "diverged": bool(res.diverged),
                     "seconds": time.perf_counter() - t1})
    e = np.array([r["band_energy_error_mev_per_atom"] for r in runs])
    return {"band_energy_error_mev_per_atom": float(np.mean(e)), "std_mev_per_atom": float(np.std(e)),
            "runs": runs, "n_train_rows": int(data.train_x.shape[0]), "prepare_seconds": t_prep,
            "seconds": time.perf_counter() - t0}


def _ranks(rows: list[dict]) -> dict:
    from scipy.stats import kendalltau, spearmanr

    a = [r["acsd"] for r in rows]
    e = [r["band_energy_error_mev_per_atom"] for r in rows]
    rho, p_rho = spearmanr(a, e)
    tau, p_tau = kendalltau(a, e)
    return {"n": len(rows), "spearman_rho": float(rho), "spearman_p": float(p_rho),
            "kendall_tau": float(tau), "kendall_p": float(p_tau)}


def _plot(out: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, sweep, key, label in ((axes[0], "rcutfac_sweep", "rcutfac", f"rcutfac / Å (twojmax {TWOJ_FIXED})"),
                                  (axes[1], "twojmax_sweep", "twojmax", f"twojmax (rcutfac {RCUT_FIXED} Å)")):
        rows = out[sweep]["rows"]
        x = [r[key] for r in rows]
        ax.plot(x, [r["acsd"] for r in rows], "o-", color="tab:blue", label="ACSD")
        ax.set_xlabel(label)
        ax.set_ylabel("ACSD (lower is better)", color="tab:blue")
        ax.tick_params(axis="y", labelcolor="tab:blue")
        ax2 = ax.twinx()
        ax2.errorbar(x, [r["band_energy_error_mev_per_atom"] for r in rows], yerr=[r["std_mev_per_atom"] for r in rows],
                     fmt="s--", color="tab:red", capsize=3, label="trained error")
        ax2.set_ylabel("test band-energy error / meV/atom", color="tab:red")
        ax2.tick_params(axis="y", labelcolor="tab:red")
        rk = out[sweep]["rank_correlation"]
        ax.set_title(f"Spearman {rk['spearman_rho']:+.2f}, Kendall {rk['kendall_tau']:+.2f}")
    fig.suptitle(f"ACSD vs trained MLP error, {out.get('data_label', 'bundled Al sample')} ({out['seeds']} seeds, {out['epochs']} epochs, "
                 f"{out['points_per_snapshot']} points/snapshot)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--points", type=int, default=8000, help="training grid points per training snapshot")
    ap.add_argument("--acsd-snapshots", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--seed", type=int, default=0, help="seed of the ACSD pairs")
    ap.add_argument("--data", default=None, help="a MALA folder whose sidecars hold the atoms (default: the bundled sample)")
    ap.add_argument("--data-label", default=None, help="names the data in the plot title")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "acsd_vs_training"))
    args = ap.parse_args()

    import torch

    from surrogate_hpo.data.prepared import load_snapshot_set

    torch.set_num_threads(max(1, args.threads))
    t_start = time.perf_counter()
    from surrogate_hpo.data.config import DataConfig

    base = load_snapshot_set(DataConfig.for_folder(args.data))
    path = base.directory
    label = args.data_label or ("bundled Al sample" if not args.data else Path(args.data).name)
    split = (f"train {', '.join(s.name for s in base.train)}; validation "
             f"{', '.join(s.name for s in base.validation)}; test {', '.join(s.name for s in base.test)}")
    cache = _cache_dir()
    settings = [(r, TWOJ_FIXED) for r in RCUT_SWEEP] + [(RCUT_FIXED, t) for t in TWOJ_SWEEP if t != TWOJ_FIXED]
    results = {}
    print(f"{'rcutfac':>8} {'twojmax':>7} {'F':>4} {'ACSD':>9} {'error meV/at':>13} {'± std':>7} "
          f"{'ACSD s':>7} {'train s':>8} {'desc s':>7}", flush=True)
    for rc, tj in settings:
        sset, t_desc, computed = _descriptors(base, rc, tj, cache)
        a, a_per, t_acsd = _acsd_route(sset, args.acsd_snapshots, args.seed)
        tr = _training_route(path, sset, args)
        row = {"rcutfac": rc, "twojmax": tj, "n_features": int(sset.train[0].descriptors.shape[-1]),
               "acsd": a, "acsd_per_snapshot": a_per, "acsd_seconds": t_acsd,
               "band_energy_error_mev_per_atom": tr["band_energy_error_mev_per_atom"],
               "std_mev_per_atom": tr["std_mev_per_atom"], "training_seconds": tr["seconds"],
               "training_runs": tr["runs"], "n_train_rows": tr["n_train_rows"],
               "descriptor_seconds": t_desc, "descriptor_grids_computed": computed}
        results[(rc, tj)] = row
        print(f"{rc:>8.5g} {tj:>7d} {row['n_features']:>4d} {a:>9.5f} {row['band_energy_error_mev_per_atom']:>13.2f} "
              f"{row['std_mev_per_atom']:>7.2f} {t_acsd:>7.3f} {tr['seconds']:>8.1f} {t_desc:>7.2f}", flush=True)

    rows_rc = [results[(r, TWOJ_FIXED)] for r in RCUT_SWEEP]
    rows_tj = [results[(RCUT_FIXED, t)] for t in TWOJ_SWEEP]
    all_rows = list(results.values())
    t_acsd = sum(r["acsd_seconds"] for r in all_rows)
    t_train = sum(r["training_seconds"] for r in all_rows)
    out = {
        "machine": machine_info(), "torch_threads": torch.get_num_threads(),
        "data": f"{label} ({path}): {split}", "data_label": label,
        "seeds": args.seeds, "epochs": args.epochs, "points_per_snapshot": args.points,
        "network": {"widths": [64, 64], "activations": ["leakyrelu"], "optimizer": "adam", "learning_rate": 3e-3,
                    "batch_size": 512, "early_stopping": None, "lr_decay": None},
        "acsd": {"n_points": 200, "n_partners": 200, "snapshots": [s.name for s in base.train[:args.acsd_snapshots]],
                 "clip": True, "pair_seed": args.seed},
        "error": "band-energy error on the test snapshot, meV/atom, mean (and std) over seeds",
        "rcutfac_sweep": {"twojmax": TWOJ_FIXED, "rows": rows_rc, "rank_correlation": _ranks(rows_rc)},
        "twojmax_sweep": {"rcutfac": RCUT_FIXED, "rows": rows_tj, "rank_correlation": _ranks(rows_tj)},
        "all_settings_rank_correlation": _ranks(all_rows),
        "seconds": {"acsd_route": t_acsd, "training_route": t_train,
                    "training_over_acsd": t_train / t_acsd if t_acsd > 0 else math.inf,
                    "descriptors": sum(r["descriptor_seconds"] for r in all_rows),
                    "descriptor_grids_computed": sum(r["descriptor_grids_computed"] for r in all_rows),
                    "wall": time.perf_counter() - t_start},
    }
    outp = Path(args.out)
    outp.parent.mkdir(parents=True, exist_ok=True)
    outp.with_suffix(".json").write_text(json.dumps(out, indent=2) + "\n")
    _plot(out, outp.with_suffix(".png"))
    print()
    for name in ("rcutfac_sweep", "twojmax_sweep"):
        rk = out[name]["rank_correlation"]
        print(f"{name:<14} Spearman rho {rk['spearman_rho']:+.2f} (p {rk['spearman_p']:.2f}), "
              f"Kendall tau {rk['kendall_tau']:+.2f} (p {rk['kendall_p']:.2f}), n={rk['n']}")
    rk = out["all_settings_rank_correlation"]
    print(f"{'all settings':<14} Spearman rho {rk['spearman_rho']:+.2f} (p {rk['spearman_p']:.2f}), "
          f"Kendall tau {rk['kendall_tau']:+.2f} (p {rk['kendall_p']:.2f}), n={rk['n']}")
    s = out["seconds"]
    print(f"time: ACSD route {s['acsd_route']:.2f} s, training route {s['training_route']:.1f} s "
          f"({s['training_over_acsd']:.0f}x), descriptors {s['descriptors']:.1f} s "
          f"({s['descriptor_grids_computed']} grids computed), wall {s['wall']:.0f} s")
    print(f"wrote {outp.with_suffix('.json')} and {outp.with_suffix('.png')}")


if __name__ == "__main__":
    main()
