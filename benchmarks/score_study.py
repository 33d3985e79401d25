"""Which training-free score ranks LDOS networks? Every registered score against the ground truth.

Reads the ground-truth table (``benchmarks/ldos_ground_truth.py``: architectures of the
default space, each trained to convergence with one policy and several seeds), scores every
architecture with every score of ``surrogate_hpo.scores.SCORES`` on the ground truth's own
data (a batch of training rows drawn as a study draws it), and reports per score and metric:

* Kendall tau and Spearman rho between the score and the seed-mean metric, with bootstrap
  95 % intervals (architectures resampled); higher score = better, so a useful score has
  tau < 0 against an error;
* the noise ceiling: tau between disjoint halves of the seeds (how well any score could
  rank these networks), averaged over the splits;
* the regret of the top-1 and top-5 picks (true error minus the best network's), beside
  the best network's seed spread;
* the cost per candidate (median seconds).

Also the NASWOT family's settings: batch size B, regulariser k, initialisations T, and
``mean - std`` against ``mean``. Writes ``benchmarks/results/score_study.{json,md,png}``.

Run: ``python3 benchmarks/score_study.py [--bootstrap 2000]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_machine import machine_info  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
METRICS = {"test_band_energy_mae_mev_per_atom": "test band energy MAE", "val_loss": "validation loss",
           "test_total_free_energy_mae_mev_per_atom": "test total free energy MAE",
           "test_ldos_rmse": "test LDOS RMSE"}


def kendall(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def bootstrap(fn, a: np.ndarray, b: np.ndarray, reps: int, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(reps):
        i = rng.integers(0, len(a), len(a))
        if np.ptp(a[i]) == 0 or np.ptp(b[i]) == 0:
            continue
        vals.append(fn(a[i], b[i]))
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def ground_truth(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    ok = table[table["status"] == "ok"]
    per = ok.groupby("architecture").agg(
        **{m: (m, "mean") for m in METRICS}, **{f"{m}_std": (m, "std") for m in METRICS},
        n_seeds=("seed", "nunique"), widths=("widths", "first"), activations=("activations", "first"),
        n_parameters=("n_parameters", "first")).reset_index()
    info = {"n_trainings": int(len(ok)), "n_architectures": int(len(per)),
            "seeds": sorted(int(s) for s in ok["seed"].unique()),
            "reached_epoch_cap": float(ok["reached_epoch_cap"].mean()),
            "epochs_median": float(ok["epochs"].median()), "epochs_max": int(ok["epochs"].max())}
    return per, info


def noise_ceiling(table: pd.DataFrame, metric: str) -> dict[str, float]:
    """Kendall tau between the seed-mean metric of two disjoint halves of the seeds."""
    ok = table[table["status"] == "ok"]
    pivot = ok.pivot_table(index="architecture", columns="seed", values=metric).dropna()
    seeds = list(pivot.columns)
    half = len(seeds) // 2
    taus = []
    for left in combinations(seeds, half):
        right = [s for s in seeds if s not in left]
        taus.append(kendall(pivot[list(left)].mean(axis=1).to_numpy(), pivot[right].mean(axis=1).to_numpy()))
    return {"mean": float(np.mean(taus)), "min": float(np.min(taus)), "n_splits": len(taus)}


def score_all(per: pd.DataFrame, manifest: dict[str, Any], names: list[str], settings_list: list[dict[str, Any]]
              ) -> dict[str, Any]:
    """Scores of every architecture for every (score, settings); cost per candidate."""
    import torch

    from surrogate_hpo.data.config import DataConfig
    from surrogate_hpo.data.prepared import load_snapshot_set, prepare_training_data
    from surrogate_hpo.model import Architecture
    from surrogate_hpo.scores import SCORES, ScoreBatch, ScoreSettings
    from surrogate_hpo.search.space import parse_search_space

    torch.set_num_threads(1)
    split = manifest["data"]["split"]
    cfg = DataConfig.for_folder(manifest["data"]["path"], **split,
                                max_train_points_per_snapshot=manifest["data"]["rows_per_train_snapshot"])
    data = prepare_training_data(load_snapshot_set(cfg), cfg, seed=0)
    space = parse_search_space({"architecture": {"n_layers": [2, 3], "width": [32, 64, 128],
                                                 "activation": ["sigmoid", "relu", "leakyrelu", "tanh"]}})
    archs = [Architecture(json.loads(w), json.loads(a)) for w, a in zip(per["widths"], per["activations"])]
    index = [space.index_of(a) for a in archs]
    rng = np.random.default_rng([0, 1])
    ti = np.sort(rng.choice(data.train_x.shape[0], size=4096, replace=False))
    vi = np.sort(rng.choice(data.val_x.shape[0], size=4096, replace=False))
    out: dict[str, Any] = {}
    for st in settings_list:
        x, y = data.score_rows(st["batch_size"], 0)
        batch = ScoreBatch(x=x, y=y, n_outputs=data.n_energies, train=(data.train_x[ti], data.train_y[ti]),
                           validation=(data.val_x[vi], data.val_y[vi]))
        for name in names:
            score = SCORES[name](ScoreSettings(n_inits=st["n_inits"], k=st["k"]))
            score(archs[0], batch, seed=index[0])  # warm-up
            values, seconds = [], []
            for arch, i in zip(archs, index):
                t0 = time.perf_counter()
                values.append(score(arch, batch, seed=i))
                seconds.append(time.perf_counter() - t0)
            out[f"{name}|{st['label']}"] = {"score": name, **st, "values": values,
                                            "seconds_median": float(np.median(seconds))}
            print(f"[scores] {name:15s} {st['label']:24s} {1000 * np.median(seconds):8.2f} ms/candidate", flush=True)
    return out


def evaluate(per: pd.DataFrame, scored: dict[str, Any], reps: int) -> list[dict[str, Any]]:
    rows = []
    best_band = per["test_band_energy_mae_mev_per_atom"].min()
    for key, sc in scored.items():
        s = np.asarray(sc["values"], dtype=float)
        s = np.where(np.isfinite(s), s, -np.inf)
        row: dict[str, Any] = {"key": key, "score": sc["score"], "settings": sc["label"],
                               "seconds_per_candidate": sc["seconds_median"]}
        for m in METRICS:
            e = per[m].to_numpy()
            row[f"tau_{m}"] = kendall(s, e)
            row[f"tau_{m}_ci"] = bootstrap(kendall, s, e, reps)
            row[f"rho_{m}"] = spearman(s, e)
            row[f"rho_{m}_ci"] = bootstrap(spearman, s, e, reps)
        order = np.argsort(-s, kind="stable")
        band = per["test_band_energy_mae_mev_per_atom"].to_numpy()
        row["top1"] = per["architecture"].iloc[order[0]]
        row["regret_top1_mev_per_atom"] = float(band[order[0]] - best_band)
        row["regret_top5_mev_per_atom"] = float(band[order[:5]].min() - best_band)
        rows.append(row)
    return rows


def plot(rows: list[dict[str, Any]], ceilings: dict[str, dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    main = [r for r in rows if r["settings"] == "default"]
    main.sort(key=lambda r: r["tau_test_band_energy_mae_mev_per_atom"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True, sharey=True)
    for ax, m in zip(axes, ("test_band_energy_mae_mev_per_atom", "val_loss")):
        y = np.arange(len(main))
        tau = [r[f"tau_{m}"] for r in main]
        lo = [r[f"tau_{m}"] - r[f"tau_{m}_ci"][0] for r in main]
        hi = [r[f"tau_{m}_ci"][1] - r[f"tau_{m}"] for r in main]
        ax.errorbar(tau, y, xerr=[lo, hi], fmt="o", capsize=3)
        ax.axvline(0, color="k", lw=0.8)
        ax.axvline(-ceilings[m]["mean"], color="tab:green", ls="--", label=f"noise ceiling ({ceilings[m]['mean']:.2f})")
        ax.axvline(-0.318, color="tab:red", ls=":", label="paper's NASWOT (-0.318)")
        ax.set_yticks(y, [r["score"] for r in main])
        ax.set_xlabel(f"Kendall tau, score vs {METRICS[m]} (negative = ranks well)")
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("Training-free scores against trained LDOS networks (95 % bootstrap intervals)")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    from surrogate_hpo.scores import SCORES

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ground-truth", type=Path, default=RESULTS / "ldos_ground_truth")
    ap.add_argument("--bootstrap", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=RESULTS / "score_study")
    args = ap.parse_args()
    table = pd.read_parquet(args.ground_truth.with_suffix(".parquet"))
    manifest = json.loads(args.ground_truth.with_suffix(".json").read_text())
    per, info = ground_truth(table)
    ceilings = {m: noise_ceiling(table, m) for m in METRICS}
    default = {"label": "default", "batch_size": 64, "n_inits": 5, "k": 1e-5}
    settings = [default]
    names = list(SCORES)
    scored = score_all(per, manifest, names, settings)
    family = [{"label": f"B={b}", "batch_size": b, "n_inits": 5, "k": 1e-5} for b in (16, 24, 32, 90)]
    family += [{"label": f"k={k:g}", "batch_size": 64, "n_inits": 5, "k": k} for k in (1e-3, 1e-1)]
    family += [{"label": f"T={t}", "batch_size": 64, "n_inits": t, "k": 1e-5} for t in (1, 10)]
    scored.update(score_all(per, manifest, ["naswot", "naswot_mean", "naswot_nonnull"], family))
    rows = evaluate(per, scored, args.bootstrap)
    res = {"ground_truth": info, "noise_ceiling": ceilings, "rows": rows, "machine": machine_info(),
           "best_network": per.loc[per["test_band_energy_mae_mev_per_atom"].idxmin(), "architecture"],
           "best_band_mae": float(per["test_band_energy_mae_mev_per_atom"].min()),
           "best_band_seed_std": float(per.loc[per["test_band_energy_mae_mev_per_atom"].idxmin(),
                                               "test_band_energy_mae_mev_per_atom_std"]),
           "command": "python3 benchmarks/score_study.py " + " ".join(sys.argv[1:])}
    args.out.with_suffix(".json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    plot(rows, ceilings, args.out.with_suffix(".png"))
    text = markdown(res)
    args.out.with_suffix(".md").write_text(text)
    print(text)


def markdown(res: dict[str, Any]) -> str:
    def ci(r, m):
        lo, hi = r[f"tau_{m}_ci"]
        return f"{r[f'tau_{m}']:+.2f} [{lo:+.2f}, {hi:+.2f}]"

    g, c = res["ground_truth"], res["noise_ceiling"]
    lines = ["# Training-free scores against the LDOS ground truth\n",
             f"{g['n_architectures']} architectures x {len(g['seeds'])} seeds ({g['n_trainings']} trainings); "
             f"{100 * g['reached_epoch_cap']:.1f} % reached the epoch cap. Noise ceiling (Kendall tau between seed "
             f"halves): test band energy {c['test_band_energy_mae_mev_per_atom']['mean']:.2f}, validation loss "
             f"{c['val_loss']['mean']:.2f}. Best network {res['best_network']}: {res['best_band_mae']:.2f} ± "
             f"{res['best_band_seed_std']:.2f} meV/atom (seed std).\n",
             "| score | settings | tau vs test band MAE [95 %] | tau vs val loss [95 %] | rho vs test band MAE | "
             "top-1 regret | top-5 regret (meV/atom) | ms/candidate |", "|---|---|---|---|---|---|---|---|"]
    for r in sorted(res["rows"], key=lambda r: r["tau_test_band_energy_mae_mev_per_atom"]):
        lines.append(f"| {r['score']} | {r['settings']} | {ci(r, 'test_band_energy_mae_mev_per_atom')} | "
                     f"{ci(r, 'val_loss')} | {r['rho_test_band_energy_mae_mev_per_atom']:+.2f} | "
                     f"{r['regret_top1_mev_per_atom']:.2f} | {r['regret_top5_mev_per_atom']:.2f} | "
                     f"{1000 * r['seconds_per_candidate']:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
