"""The end-of-study summary: a short table on the console, summary.json and summary.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .results import atomic_write_text, write_json


def _pm(stat: dict[str, float] | None) -> str:
    if not stat or not stat.get("n"):
        return "n/a"
    return f"{stat['mean']:.2f} ± {stat['std']:.2f} (min {stat['min']:.2f}, max {stat['max']:.2f}, {stat['n']} seeds)"


def summary_lines(s: dict[str, Any]) -> list[str]:
    fe = s["final_evaluation"]
    comp = s["compute"]
    lines = [
        f"Study '{s['study_name']}' (method {s['method']})  ->  {s['study_dir']}",
        f"  data            {s['data']}",
        f"  chosen network  {s['chosen']['n_in']} -> {s['chosen']['architecture']} -> {s['chosen']['n_out']}"
        f"   ({s['chosen']['n_parameters']} parameters)",
    ]
    for key, value in s.get("method_details", {}).items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        if key not in ("trials_csv", "plot", "first_trial_start_seconds", "after_last_trial_seconds"):
            lines.append(f"  {key:<15} {value}")
    lines += [
        f"  test band-energy MAE        {_pm(fe.get('test_band_energy_mae_mev_per_atom'))} meV/atom",
        f"  test total-free-energy MAE  {_pm(fe.get('test_total_free_energy_mae_mev_per_atom'))} meV/atom",
        f"  compute         {comp['cpu_seconds'] / 3600:.3f} CPU-h, {comp['gpu_seconds'] / 3600:.3f} GPU-h"
        f"   wall {s['wall_seconds']:.0f} s",
    ]
    return lines


def write_summary(study_dir: Path, summary: dict[str, Any]) -> str:
    """Write summary.json and summary.md; return the console text."""
    text = "\n".join(summary_lines(summary))
    write_json(study_dir / "summary.json", summary)
    atomic_write_text(study_dir / "summary.md", "```\n" + text + "\n```\n")
    return text
