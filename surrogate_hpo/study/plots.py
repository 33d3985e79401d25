"""Plots of a study, written next to its tables (PNG, matplotlib's Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..util.atomic import atomic_open

__all__ = ["new_figure", "save_figure", "plot_final_errors", "plot_naswot_scores", "plot_oat_effects",
           "plot_search_trials"]


def new_figure(figsize: tuple[float, float]) -> Any:
    """A matplotlib Figure with constrained layout, without pyplot (no global state)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def save_figure(fig: Any, path: Path) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically: a link planted at ``path`` is replaced, not followed."""
    with atomic_open(path) as fh:
        fig.savefig(fh, dpi=120, format="png")
    return Path(path)


def plot_naswot_scores(trials: pd.DataFrame, path: Path, *, chosen_id: int | None = None) -> Path:
    """Two panels: score per candidate (grid order) and score against parameter count."""
    ok = trials[trials.get("status", "ok") == "ok"] if "status" in trials else trials
    fig = new_figure((11, 4))
    a, b = fig.subplots(1, 2)
    for n_layers, grp in ok.groupby("n_layers"):
        a.scatter(grp["candidate_id"], grp["score"], s=6, label=f"{n_layers} hidden layers")
        b.scatter(grp["n_parameters"], grp["score"], s=6, label=f"{n_layers} hidden layers")
    if chosen_id is not None and (ok["candidate_id"] == chosen_id).any():
        row = ok[ok["candidate_id"] == chosen_id].iloc[0]
        for ax, x in ((a, row["candidate_id"]), (b, row["n_parameters"])):
            ax.scatter([x], [row["score"]], s=80, facecolors="none", edgecolors="k", label="chosen")
    a.set_xlabel("candidate (grid order)")
    b.set_xlabel("trainable parameters")
    b.set_xscale("log")
    for ax in (a, b):
        ax.set_ylabel("score (mean − std over inits)")
        # scores span many decades below zero (rank-deficient Jacobians): symlog keeps the top readable
        ax.set_yscale("symlog", linthresh=max(1.0, float(np.nanmin(np.abs(ok["score"])))))
        top = float(np.nanmax(ok["score"]))
        ax.set_ylim(top=top * 0.5 if top < 0 else top * 2.0 + 1.0)
        ax.legend(fontsize=8)
    fig.suptitle(f"NASWOT scores of {len(ok)} untrained networks (higher is better)")
    return save_figure(fig, path)


def plot_final_errors(final: pd.DataFrame, path: Path) -> Path:
    """Test errors per seed of the final evaluation (band energy, total free energy)."""
    cols = [c for c in ("test_band_energy_mae_mev_per_atom", "test_total_free_energy_mae_mev_per_atom") if c in final]
    fig = new_figure((6, 4))
    ax = fig.subplots()
    width = 0.8 / max(len(cols), 1)
    seeds = final["seed"].to_numpy()
    for i, c in enumerate(cols):
        ax.bar(np.arange(len(seeds)) + i * width, final[c].to_numpy(dtype=float), width,
               label=c.replace("test_", "").replace("_mae_mev_per_atom", " MAE"))
    ax.set_xticks(np.arange(len(seeds)) + width * (len(cols) - 1) / 2, [str(s) for s in seeds])
    ax.set_xlabel("seed")
    ax.set_ylabel("test MAE (meV/atom)")
    ax.legend(fontsize=8)
    ax.set_title("Final evaluation of the chosen network")
    return save_figure(fig, path)


def plot_search_trials(trials: pd.DataFrame, path: Path, *, metric: str, title: str,
                       ylabel: str = "validation band-energy MAE (meV/atom)") -> Path:
    """Objective per trial (in the order trials started) with the best so far; pruned,
    diverged and failed trials are marked along the top."""
    fig = new_figure((7, 4))
    ax = fig.subplots()
    df = trials.sort_values("trial_number") if "trial_number" in trials else trials
    ok = df[df["status"] == "ok"] if "status" in df else df
    y = pd.to_numeric(ok[metric], errors="coerce")
    ax.scatter(ok["trial_number"], y, s=18, label="trained (mean over repeats)")
    if len(ok):
        ax.step(ok["trial_number"], y.cummin(), where="post", color="k", lw=1, label="best so far")
    top = float(np.nanmax(y)) if y.notna().any() else 1.0
    markers = {"pruned": ("v", "tab:gray"), "diverged": ("x", "tab:red"), "error": ("X", "tab:red")}
    for status, (marker, color) in markers.items():
        sel = df[df["status"] == status] if "status" in df else df.iloc[:0]
        if len(sel):
            ax.scatter(sel["trial_number"], np.full(len(sel), top * 1.15), marker=marker, color=color,
                       label=f"{status} ({len(sel)})")
    ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_oat_effects(analysis: dict, path: Path) -> Path:
    """Range analysis of OAT: mean loss per level of every factor, most important first."""
    order = [analysis["factors"].index(n) for n in analysis["ranking"]]
    n = len(order)
    cols = min(4, n)
    rows = -(-n // cols)
    fig = new_figure((3.2 * cols, 2.6 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, j in zip(axes.flat, order):
        means = [np.nan if v is None else v for v in analysis["level_means"][j]]
        labels = [str(v) for v in analysis["levels"][j]]
        ax.bar(range(len(means)), means, color="tab:blue")
        ax.set_xticks(range(len(means)), labels, fontsize=7, rotation=30)
        name = analysis["factors"][j]
        ax.set_title(f"{name} (range {analysis['importance'][name]:.3g})", fontsize=9)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.supylabel("mean validation band-energy MAE (meV/atom)", fontsize=9)
    fig.suptitle("OAT range analysis: mean error per level")
    return save_figure(fig, path)
