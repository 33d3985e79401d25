"""Does the NASWOT score predict the trained error? (the paper's figure 5)

Takes a finished TPE study (``<dir>/tpe_trials.csv``) and, optionally, a finished NASWOT
study of the same data and search space (``<dir>/naswot_trials.csv``, ``final_trials.csv``).
For every TPE trial that trained to the end:

* its network's **NASWOT mean score** (``mean - std`` over T initialisations), computed
  exactly as the ``naswot`` method does it: the study's own NASWOT batch
  (``method.batch_size`` training rows drawn with the study seed, scaled), T and k from
  ``surrogate_hpo/conf/method/naswot.yaml`` (or ``--n-inits``/``--k``), and the initialisation seed of
  the network's index in the architecture grid. When a NASWOT study is given, its table
  must hold the same score for the same network (checked, so both figures agree);
* its trained **validation band-energy MAE** (meV/atom, mean over the trial's repeats),
  as TPE saw it.

Reported: Kendall's tau and Spearman's rho between score and error, with p-values, and
the sign read out (the paper: a higher score goes with a lower error, i.e. tau < 0);
where TPE's best trial sits in score (its rank among the TPE trials and its percentile
among every network of the grid), where the best-scoring TPE trial sits in error, and
NASWOT's own choice (the grid's best score) with its validation error from the NASWOT
study's final evaluation (trained with the fixed policy, not TPE's). TPE trials differ in
training policy too (learning rate, batch size, ...); ``--same-policy`` restricts tau to
the trials whose policy equals the most common one when there are enough of them.

With ``--train-sample N`` (needs ``--naswot-study``) the question is also asked without
TPE's varying policies: N networks spread evenly over the NASWOT study's score ranking
(best and worst included) are trained with the NASWOT study's fixed training policy,
``--sample-seeds`` seeds each, in ``--workers`` processes, and Kendall's tau is computed
between their score and their mean validation band-energy MAE (second panel).

Writes ``<out>.json`` (machine, command, every trial) and ``<out>.png`` (error against
score, log y, TPE's best and NASWOT's choice marked).

Run: ``python3 benchmarks/score_vs_error.py --tpe-study DIR [--naswot-study DIR] --out
benchmarks/results/score_vs_error``.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
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

METRIC = "val_band_energy_mae_mev_per_atom"


def study_config(study_dir: Path) -> dict[str, Any]:
    """The resolved config a study ran with (``study.json``)."""
    return json.loads((study_dir / "study.json").read_text())["config"]


def naswot_settings(naswot_cfg: dict[str, Any] | None, args: argparse.Namespace) -> dict[str, Any]:
    """T, k and B: ``--n-inits``/``--k``, else the NASWOT study's, else surrogate_hpo/conf/method/naswot.yaml."""
    import yaml

    m = yaml.safe_load((ROOT / "surrogate_hpo" / "conf" / "method" / "_scoring.yaml").read_text())
    if naswot_cfg is not None:
        m.update(naswot_cfg["method"])
    return {"n_inits": int(args.n_inits or m.get("n_inits", 5)), "k": float(args.k or m.get("k", 1e-5)),
            "batch_size": int(m.get("batch_size", 64))}


def score_trials(tpe_dir: Path, nas_dir: Path | None, args: argparse.Namespace) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The TPE trials that finished, with their network's NASWOT score; the score settings."""
    import torch

    from surrogate_hpo.data.prepared import prepare_data
    from surrogate_hpo.scores import ScoreBatch, ScoreSettings
    from surrogate_hpo.search.factors import candidate_of
    from surrogate_hpo.search.scoring import Scoring
    from surrogate_hpo.search.space import parse_search_space

    torch.set_num_threads(max(1, args.threads))
    cfg = study_config(tpe_dir)
    settings = naswot_settings(study_config(nas_dir) if nas_dir else None, args)
    seed = int(cfg.get("seed", 0))
    data = prepare_data(cfg["data"], seed=seed)
    b = min(settings["batch_size"], data.n_features)
    x, y = data.score_rows(b, seed)
    scoring = Scoring("naswot", ScoreSettings(n_inits=settings["n_inits"], k=settings["k"]),
                      ScoreBatch(x=x, y=y, n_outputs=data.n_energies), seed)
    space = parse_search_space(cfg["search_space"])
    grid = space.candidates()
    index = {c: i for i, c in enumerate(grid)}
    trials = pd.read_csv(tpe_dir / "tpe_trials.csv")
    trials = trials[trials["status"] == "ok"].copy()
    cands = [candidate_of(json.loads(s)) for s in trials["config_json"]]
    missing = [c.describe() for c in cands if c not in index]
    if missing:
        raise SystemExit(f"{len(missing)} TPE networks are not in the study's grid (e.g. {missing[0]})")
    t0 = time.perf_counter()
    scored = [{"score": scoring(c, index[c])[0]} for c in cands]
    trials["naswot_score"] = [r["score"] for r in scored]
    trials["grid_index"] = [index[c] for c in cands]
    trials["architecture"] = [c.describe() for c in cands]
    settings.update({"batch_size": b, "seed": seed, "score_seconds": time.perf_counter() - t0,
                     "n_grid": len(grid), "data": cfg["data"].get("path") or cfg["data"].get("kind")})
    return trials, settings


def grid_scores(naswot_dir: Path | None) -> pd.DataFrame | None:
    """Every grid network's score from a NASWOT study (None without one)."""
    if naswot_dir is None:
        return None
    t = pd.read_csv(naswot_dir / "naswot_trials.csv")
    return t[t["status"] == "ok"][["candidate_id", "architecture", "score", "n_parameters"]]


def naswot_choice(naswot_dir: Path | None) -> dict[str, Any] | None:
    """NASWOT's chosen network, its score and its validation error over the final seeds."""
    if naswot_dir is None:
        return None
    best = json.loads((naswot_dir / "naswot_best.json").read_text())
    final = pd.read_csv(naswot_dir / "final_trials.csv")
    val = final[METRIC].astype(float)
    return {"architecture": best["architecture"], "score": float(best["score"]),
            "candidate_id": int(best["candidate_id"]), "val_mae_mean": float(val.mean()), "val_mae_std": float(val.std(ddof=0)),
            "n_seeds": int(len(val)), "policy": "fixed (surrogate_hpo/conf/training), final evaluation"}


_WORKER_DATA: Any = None


def _init_worker(data_cfg: dict[str, Any], seed: int, threads: int) -> None:
    import torch

    from surrogate_hpo.data.prepared import prepare_data

    global _WORKER_DATA
    torch.set_num_threads(threads)
    _WORKER_DATA = prepare_data(data_cfg, seed=seed)


def _train_one(job: tuple[dict[str, Any], dict[str, Any], int]) -> dict[str, Any]:
    from surrogate_hpo.study.training_trial import train_network

    arch, policy, seed = job
    fit = train_network(arch, policy, _WORKER_DATA, seed=seed, threads=1)
    return {"val_mae": float(fit.val_band_energy_mae), "val_loss": float(fit.result.best_val_loss),
            "epochs": int(fit.result.epochs_run),
            "seconds": float(fit.seconds), "diverged": bool(fit.result.diverged)}


def train_sample(nas_dir: Path, n: int, seeds: int, workers: int) -> pd.DataFrame:
    """N grid networks evenly spread over the NASWOT ranking, trained with the study's fixed policy."""
    from concurrent.futures import ProcessPoolExecutor

    cfg = study_config(nas_dir)
    grid = grid_scores(nas_dir).sort_values("score", ascending=False).reset_index(drop=True)
    picks = grid.iloc[np.unique(np.linspace(0, len(grid) - 1, n).round().astype(int))].copy()

    table = pd.read_csv(nas_dir / "naswot_trials.csv").set_index("candidate_id")
    jobs = []
    for cid in picks["candidate_id"]:
        row = table.loc[cid]
        arch = {"widths": json.loads(row["widths"]), "activations": json.loads(row["activations"].replace("'", '"'))}
        jobs += [(arch, dict(cfg["training"]), s) for s in range(seeds)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                             initargs=(cfg["data"], int(cfg.get("seed", 0)), 1)) as pool:
        runs = list(pool.map(_train_one, jobs))
    wall = time.perf_counter() - t0
    per = [runs[i * seeds:(i + 1) * seeds] for i in range(len(picks))]
    picks[METRIC] = [float(np.mean([r["val_mae"] for r in rs])) for rs in per]
    picks["val_mae_std"] = [float(np.std([r["val_mae"] for r in rs])) for rs in per]
    picks["val_loss"] = [float(np.mean([r["val_loss"] for r in rs])) for rs in per]
    picks["epochs"] = [[r["epochs"] for r in rs] for rs in per]
    picks["train_seconds"] = [sum(r["seconds"] for r in rs) for rs in per]
    picks.attrs["wall_seconds"] = wall
    picks.attrs["policy"] = dict(cfg["training"])
    return picks


def correlations(score: np.ndarray, err: np.ndarray) -> dict[str, Any]:
    from scipy.stats import kendalltau, spearmanr

    if len(score) < 3:
        return {"n": int(len(score))}
    tau, p_tau = kendalltau(score, err)
    rho, p_rho = spearmanr(score, err)
    if p_tau < 0.05:
        reading = ("higher score, lower error: the paper's direction" if tau < 0 else
                   "higher score, HIGHER error: the opposite of the paper's direction")
    else:
        reading = f"no significant rank correlation at the 5% level (p = {p_tau:.2f})"
    return {"n": int(len(score)), "kendall_tau": float(tau), "kendall_p": float(p_tau), "spearman_rho": float(rho),
            "spearman_p": float(p_rho), "reading": reading}


def _x(values: pd.Series, reference: pd.Series | None = None) -> np.ndarray:
    """Plot coordinates of scores: -score when every score of ``reference`` (default: ``values``) is negative."""
    ref = values if reference is None else reference
    return -values.to_numpy() if (ref < 0).all() else values.to_numpy()


def score_axis(ax: Any, scores: pd.Series) -> None:
    """Scores span orders of magnitude (sigmoid networks ~ -1e6, ReLU ones ~ -1e3): a log axis of
    -score, reversed so that higher scores stay on the right; symlog if any score is >= 0."""
    if (scores < 0).all():
        from matplotlib.ticker import NullFormatter

        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.invert_xaxis()
        ax.set_xlabel("NASWOT mean score, as -score on a log axis (right = higher = better by the paper)")
    else:
        ax.set_xscale("symlog", linthresh=max(1.0, float(scores.abs().min())))
        ax.set_xlabel("NASWOT mean score (symlog; higher = better by the paper)")


def plot(trials: pd.DataFrame, choice: dict | None, corr: dict, png: Path, title: str,
         sample: pd.DataFrame | None = None, sample_corr: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if sample is None:
        fig, ax = plt.subplots(figsize=(6.6, 4.6))
    else:
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 4.8))
        bx.errorbar(_x(sample["score"]), sample[METRIC], yerr=sample["val_mae_std"], fmt="o", ms=4, capsize=2,
                    color="tab:blue", label="grid networks, fixed policy")
        top = sample.iloc[0]
        bx.scatter(_x(pd.Series([top["score"]]), sample["score"]), [top[METRIC]], marker="*", s=200, color="black", zorder=3,
                   label=f"NASWOT's choice: {top['architecture']}")
        bx.set_yscale("log")
        score_axis(bx, sample["score"])
        bx.set_ylabel("validation band-energy MAE / meV/atom (mean over seeds)")
        if sample_corr and "kendall_tau" in sample_corr:
            bx.set_title(f"{len(sample)} networks across the NASWOT ranking, one fixed policy\n"
                         f"Kendall τ = {sample_corr['kendall_tau']:+.2f} (p = {sample_corr['kendall_p']:.2g})",
                         fontsize=10)
        bx.grid(True, which="both", alpha=0.3)
        bx.legend(fontsize=7, loc="best")
    sx = _x(trials["naswot_score"])
    sc = ax.scatter(sx, trials[METRIC], c=trials["trial_number"], cmap="viridis", s=28,
                    label="TPE trials (colour: trial number)")
    fig.colorbar(sc, ax=ax, label="TPE trial number")
    best = trials.loc[trials[METRIC].idxmin()]
    ax.scatter(_x(pd.Series([best["naswot_score"]]), trials["naswot_score"]), [best[METRIC]], marker="o", s=160, facecolors="none", edgecolors="red",
               linewidths=2, label=f"TPE's best: {best['architecture']}")
    if choice is not None:
        ax.errorbar(_x(pd.Series([choice["score"]]), trials["naswot_score"]), [choice["val_mae_mean"]], yerr=[choice["val_mae_std"]], fmt="*", ms=14,
                    color="black", capsize=3, label=f"NASWOT's choice (fixed policy): {choice['architecture']}")
    ax.set_yscale("log")
    score_axis(ax, trials["naswot_score"])
    ax.set_ylabel("validation band-energy MAE / meV/atom")
    if "kendall_tau" in corr:
        ax.set_title(f"{title}\nKendall τ = {corr['kendall_tau']:+.2f} (p = {corr['kendall_p']:.2g}), n = {corr['n']}",
                     fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tpe-study", required=True, help="a finished TPE study directory (tpe_trials.csv)")
    ap.add_argument("--naswot-study", default=None, help="a finished NASWOT study on the same data and space")
    ap.add_argument("--n-inits", type=int, default=None)
    ap.add_argument("--k", type=float, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--title", default="NASWOT score vs trained error (TPE trials)")
    ap.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE",
                    help="also correlate over the TPE trials with this config value, e.g. config.optimizer=adam")
    ap.add_argument("--train-sample", type=int, default=0, help="also train N grid networks with the fixed policy")
    ap.add_argument("--sample-seeds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="processes for --train-sample (1 torch thread each)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "score_vs_error"))
    args = ap.parse_args(argv)
    tpe_dir = Path(args.tpe_study)
    nas_dir = Path(args.naswot_study) if args.naswot_study else None

    trials, settings = score_trials(tpe_dir, nas_dir, args)
    grid = grid_scores(nas_dir)
    check = None
    if grid is not None:  # the same network must have the same score in both studies
        by_id = grid.set_index("candidate_id")["score"]
        diff = np.abs(trials["naswot_score"].to_numpy() - by_id.loc[trials["grid_index"]].to_numpy())
        check = {"max_abs_score_difference_vs_naswot_study": float(diff.max()) if len(diff) else 0.0}
        grid_sorted = np.sort(grid["score"].to_numpy())
        trials["score_percentile_in_grid"] = [100.0 * np.searchsorted(grid_sorted, s, side="right") / len(grid_sorted)
                                              for s in trials["naswot_score"]]
    corr = correlations(trials["naswot_score"].to_numpy(), trials[METRIC].to_numpy())
    best = trials.loc[trials[METRIC].idxmin()]
    top = trials.loc[trials["naswot_score"].idxmax()]
    n = len(trials)
    score_rank = int((trials["naswot_score"] > best["naswot_score"]).sum()) + 1
    err_rank = int((trials[METRIC] < top[METRIC]).sum()) + 1
    choice = naswot_choice(nas_dir)
    positions = {
        "tpe_best": {"trial_id": best["trial_id"], "architecture": best["architecture"], "val_mae": float(best[METRIC]),
                     "naswot_score": float(best["naswot_score"]), "score_rank_among_tpe_trials": score_rank,
                     "score_percentile_in_grid": float(best.get("score_percentile_in_grid", math.nan))},
        "best_scoring_tpe_trial": {"trial_id": top["trial_id"], "architecture": top["architecture"],
                                   "naswot_score": float(top["naswot_score"]), "val_mae": float(top[METRIC]),
                                   "error_rank_among_tpe_trials": err_rank},
        "naswot_choice": choice,
        "n_tpe_trials": n,
    }
    policy_cols = [c for c in trials.columns if c.startswith("config.") and not any(
        k in c for k in ("width", "activation", "n_layers"))]
    same = None
    if policy_cols:
        key = trials[policy_cols].astype(str).agg("|".join, axis=1)
        common = key.value_counts()
        if len(common) and common.iloc[0] >= 5:
            sub = trials[key == common.index[0]]
            same = {"policy": dict(zip(policy_cols, common.index[0].split("|"))),
                    **correlations(sub["naswot_score"].to_numpy(), sub[METRIC].to_numpy())}
    out = {
        "benchmark": "score_vs_error", "machine": machine_info(),
        "command_line": shlex.join(["python3", "benchmarks/score_vs_error.py", *(argv or sys.argv[1:])]),
        "tpe_study": str(tpe_dir), "naswot_study": str(nas_dir) if nas_dir else None, "naswot": settings,
        "correlation": corr, "correlation_same_policy": same, "positions": positions, "consistency": check,
        "units": {"val_mae": "meV/atom, validation band energy, mean over the trial's repeats"},
        "trials": trials[["trial_id", "trial_number", "architecture", "naswot_score", METRIC, "grid_index",
                          *(["score_percentile_in_grid"] if "score_percentile_in_grid" in trials else []),
                          *policy_cols]].to_dict("records"),
    }
    subsets = {}
    for cond in args.where:
        col, _, value = cond.partition("=")
        if col not in trials.columns:
            raise SystemExit(f"--where {cond}: no column {col!r} in tpe_trials.csv")
        sub = trials[trials[col].astype(str) == value]
        subsets[cond] = correlations(sub["naswot_score"].to_numpy(), sub[METRIC].to_numpy())
    out["correlation_where"] = subsets
    sample = sample_corr = None
    if args.train_sample:
        if nas_dir is None:
            raise SystemExit("--train-sample needs --naswot-study")
        sample = train_sample(nas_dir, args.train_sample, args.sample_seeds, args.workers)
        sample_corr = correlations(sample["score"].to_numpy(), sample[METRIC].to_numpy())
        loss_corr = correlations(sample["score"].to_numpy(), sample["val_loss"].to_numpy())
        out["fixed_policy_sample"] = {
            "correlation": sample_corr, "correlation_with_val_loss": loss_corr,
            "seeds": args.sample_seeds, "policy": sample.attrs["policy"],
            "wall_seconds": sample.attrs["wall_seconds"], "workers": args.workers,
            "networks": sample.drop(columns=[]).to_dict("records"),
        }
    outp = Path(args.out)
    outp.parent.mkdir(parents=True, exist_ok=True)
    outp.with_suffix(".json").write_text(json.dumps(out, indent=1, default=str) + "\n")
    plot(trials, choice, corr, outp.with_suffix(".png"), args.title, sample, sample_corr)
    print(f"{n} TPE trials scored in {settings['score_seconds']:.2f} s (T={settings['n_inits']}, B={settings['batch_size']}, "
          f"k={settings['k']:g})")
    if "kendall_tau" in corr:
        print(f"Kendall tau {corr['kendall_tau']:+.3f} (p {corr['kendall_p']:.3g}), Spearman rho "
              f"{corr['spearman_rho']:+.3f} (p {corr['spearman_p']:.3g}): {corr['reading']}")
    for cond, c in subsets.items():
        if "kendall_tau" in c:
            print(f"trials with {cond} ({c['n']}): Kendall tau {c['kendall_tau']:+.3f} (p {c['kendall_p']:.3g}): "
                  f"{c['reading']}")
    if same:
        print(f"same policy only ({same['n']} trials): tau {same.get('kendall_tau', math.nan):+.3f} "
              f"(p {same.get('kendall_p', math.nan):.3g})")
    print(f"TPE's best ({best['architecture']}, {best[METRIC]:.1f} meV/atom): score rank {score_rank}/{n}"
          + (f", {positions['tpe_best']['score_percentile_in_grid']:.0f}th percentile of the grid" if grid is not None else ""))
    print(f"best-scoring TPE trial ({top['architecture']}): error rank {err_rank}/{n} ({top[METRIC]:.1f} meV/atom)")
    if choice:
        print(f"NASWOT's choice {choice['architecture']}: score {choice['score']:.1f}, validation MAE "
              f"{choice['val_mae_mean']:.1f} ± {choice['val_mae_std']:.1f} meV/atom (fixed policy)")
    if check:
        print(f"score check against the NASWOT study: max |diff| {check['max_abs_score_difference_vs_naswot_study']:.2e}")
    if sample_corr and "kendall_tau" in sample_corr:
        print(f"fixed-policy sample ({len(sample)} networks x {args.sample_seeds} seeds, "
              f"{sample.attrs['wall_seconds']:.0f} s): Kendall tau {sample_corr['kendall_tau']:+.3f} "
              f"(p {sample_corr['kendall_p']:.3g}): {sample_corr['reading']}")
        lc = out["fixed_policy_sample"]["correlation_with_val_loss"]
        print(f"  against the validation loss (scaled LDOS MSE): Kendall tau {lc['kendall_tau']:+.3f} "
              f"(p {lc['kendall_p']:.3g}): {lc['reading']}")
    print(f"wrote {outp.with_suffix('.json')} and .png")
    return out


if __name__ == "__main__":
    main()
