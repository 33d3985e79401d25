"""Side-by-side comparison of finished studies (e.g. the jobs of a Hydra multirun).

``surrogate-hpo -m method=naswot,oat,tpe`` runs one study per method into its own
directory under the sweep directory; at the end :class:`CompareStudies` (a Hydra callback,
see ``conf/config.yaml``) reads every ``summary.json`` there and writes
``comparison.json``, ``comparison.md`` and ``comparison.png`` (final test band-energy MAE
against search compute and against wall time, as in the paper's figures 3 and 4).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from ..util.atomic import atomic_write_text, write_json


def comparison_row(summary: dict[str, Any]) -> dict[str, Any]:
    """The numbers of one study that a comparison shows (MAE in meV/atom, compute in CPU-s)."""
    fe = summary.get("final_evaluation", {})
    band = fe.get("test_band_energy_mae_mev_per_atom", {}) or {}
    total = fe.get("test_total_free_energy_mae_mev_per_atom", {}) or {}
    search = summary.get("search_compute") or {}
    return {
        "study": summary.get("study_name"),
        "method": summary.get("method"),
        "study_dir": summary.get("study_dir"),
        "band_mae_mean": band.get("mean"), "band_mae_std": band.get("std"),
        "total_mae_mean": total.get("mean"), "total_mae_std": total.get("std"),
        "search_cpu_seconds": search.get("cpu_seconds"),
        "search_gpu_seconds": search.get("gpu_seconds"),
        "total_cpu_seconds": (summary.get("compute") or {}).get("cpu_seconds"),
        "wall_seconds": summary.get("wall_seconds"),
        "search_wall_seconds": (summary.get("method_details") or {}).get("search_wall_seconds"),
        "architecture": (summary.get("chosen") or {}).get("architecture"),
        "n_parameters": (summary.get("chosen") or {}).get("n_parameters"),
    }


def find_summaries(root: Path) -> list[Path]:
    """``summary.json`` of every finished study below ``root`` (sorted by path)."""
    return sorted(p for p in Path(root).rglob("summary.json") if (p.parent / "study.json").exists())


def _fmt(v: Any, spec: str = ".2f") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return format(v, spec) if isinstance(v, (int, float)) else str(v)


def comparison_table(rows: Iterable[dict[str, Any]]) -> str:
    """Markdown table, one line per study."""
    lines = ["| study | method | test band-energy MAE (meV/atom) | test total-free-energy MAE (meV/atom) | "
             "search CPU-s | total CPU-s | wall (s) | chosen network | parameters |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['study']} | {r['method']} | {_fmt(r['band_mae_mean'])} ± {_fmt(r['band_mae_std'])} | "
            f"{_fmt(r['total_mae_mean'])} ± {_fmt(r['total_mae_std'])} | {_fmt(r['search_cpu_seconds'], '.1f')} | "
            f"{_fmt(r['total_cpu_seconds'], '.1f')} | {_fmt(r['wall_seconds'], '.0f')} | {r['architecture']} | "
            f"{_fmt(r['n_parameters'], 'd')} |")
    return "\n".join(lines)


def plot_comparison(rows: list[dict[str, Any]], path: Path) -> Path:
    """Band-energy MAE (error bar: spread over seeds) against search compute and wall time."""
    # pandas and matplotlib load only when studies are compared
    from .plots import new_figure, save_figure

    fig = new_figure((10, 4))
    axes = fig.subplots(1, 2)
    for ax, key, label in ((axes[0], "search_cpu_seconds", "search compute (CPU-s)"),
                           (axes[1], "wall_seconds", "study wall time (s)")):
        for r in rows:
            x, y = r.get(key), r.get("band_mae_mean")
            if x is None or y is None:
                continue
            x = max(float(x), 1e-3)  # a zero-compute search still gets a point on a log axis
            ax.errorbar([x], [y], yerr=[r.get("band_mae_std") or 0.0], fmt="o", capsize=3)
            ax.annotate(str(r["study"]), (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("test band-energy MAE (meV/atom)")
    fig.suptitle("Studies compared: accuracy against cost")
    return save_figure(fig, path)


def write_comparison(root: Path, summaries: list[Path] | None = None) -> dict[str, Any] | None:
    """Compare the studies below ``root``; write comparison.{json,md,png} there. None if none finished."""
    root = Path(root)
    paths = find_summaries(root) if summaries is None else summaries
    rows = [comparison_row(json.loads(p.read_text())) for p in paths]
    if not rows:
        return None
    table = comparison_table(rows)
    result = {"root": str(root), "studies": rows}
    write_json(root / "comparison.json", result)
    plot = plot_comparison(rows, root / "comparison.png")
    atomic_write_text(root / "comparison.md", f"# Studies compared ({root})\n\n{table}\n\n![]({plot.name})\n")
    result["table"] = table
    return result


class CompareStudies(Callback):
    """Hydra callback: after a multirun, compare the studies of the sweep directory."""

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        root = Path(str(config.hydra.sweep.dir))
        result = write_comparison(root)
        if result is None:
            print(f"[compare] no finished study under {root}")
            return
        print(f"[compare] {len(result['studies'])} studies -> {root / 'comparison.md'}\n{result['table']}", flush=True)


__all__ = ["CompareStudies", "comparison_row", "comparison_table", "find_summaries", "write_comparison"]
