"""The end-of-study summary: a short table on the console, ``summary.json`` and ``summary.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..util.atomic import atomic_write_text, write_json

__all__ = ["summary_lines", "write_summary"]

#: method details kept in summary.json but not printed (paths, long tables)
_QUIET = ("trials_csv", "plot", "settings_table", "selection", "cache_dir", "analysis", "effects_plot", "rounds")


def _pm(stat: dict[str, Any] | None) -> str:
    if not stat or not stat.get("n"):
        return "n/a"
    return (f"{stat['mean']:.2f} ± {stat['std']:.2f} (min {stat['min']:.2f}, max {stat['max']:.2f}, "
            f"{stat['n']} seed{'' if stat['n'] == 1 else 's'})")


def summary_lines(s: dict[str, Any]) -> list[str]:
    """The console table of a summary dict."""
    lines = [f"Study '{s['study_name']}' (method {s['method']})  ->  {s['study_dir']}",
             f"  data            {s['data']}"]
    chosen = s.get("chosen") or {}
    if "architecture" in chosen:
        lines.append(f"  chosen network  {chosen['n_in']} -> {chosen['architecture']} -> {chosen['n_out']}"
                     f"   ({chosen['n_parameters']} parameters)")
    if s.get("descriptors"):
        d = s["descriptors"]
        species = ""
        if len(d.get("species") or []) > 1:
            weights = d.get("element_weights") or {}
            species = ", " + " ".join(f"{e} (w {weights.get(e, d.get('wj', 1.0)):g})" for e in d["species"])
        lines.append(f"  descriptors     bispectrum rcutfac {d['rcutfac']:g} Å, twojmax {d['twojmax']} "
                     f"({d.get('n_features', '?')} components){species}")
    for key, value in (s.get("method_details") or {}).items():
        if key in _QUIET or isinstance(value, (dict, list)):
            continue
        lines.append(f"  {key:<15} {value:.4g}" if isinstance(value, float) else f"  {key:<15} {value}")
    for line in (s.get("method_details") or {}).get("settings_table") or []:
        lines.append(line)
    stages = (s.get("method_details") or {}).get("stages")
    if stages:
        lines.append(f"  {'stage':<12} {'wall/s':>8} {'CPU/s':>9}  choice")
        rows = [*stages]
        fe = s.get("final_evaluation") or {}
        if fe:
            rows.append({"stage": "final", "wall_seconds": fe.get("wall_seconds", 0.0),
                         "cpu_seconds": (fe.get("compute") or {}).get("cpu_seconds", 0.0),
                         "choice": f"{len(fe.get('seeds') or [])} seeds, model = seed {fe.get('saved_seed')}"})
        for st in rows:
            lines.append(f"  {st['stage']:<12} {st['wall_seconds']:8.1f} {st['cpu_seconds']:9.1f}  {st['choice']}")
        lines.append(f"  {'total':<12} {sum(r['wall_seconds'] for r in rows):8.1f} "
                     f"{sum(r['cpu_seconds'] for r in rows):9.1f}")
    fe = s.get("final_evaluation")
    if fe:
        total = _pm(fe.get("test_total_free_energy_mae_mev_per_atom"))
        if total == "n/a" and fe.get("test_total_free_energy_missing"):
            total = f"n/a: {fe['test_total_free_energy_missing']}"
        lines += [
            f"  test band-energy MAE        {_pm(fe.get('test_band_energy_mae_mev_per_atom'))} meV/atom",
            f"  test total-free-energy MAE  {total}" + (" meV/atom" if not total.startswith("n/a") else ""),
            f"  saved model     seed {fe.get('saved_seed')} (lowest validation band-energy MAE)",
        ]
    account = s.get("time_account") or {}
    if account:
        total = account.get("total") or 1.0
        lines.append("  time account    " + ", ".join(f"{k} {v:.1f} s" for k, v in account.items() if k != "total")
                     + f"; total {total:.1f} s")
        for st in s.get("tune_stages") or []:
            lines.append(f"    Tune stage {st['stage']:<12} {st['wall']:6.1f} s: useful {st['useful']:.1f} s, "
                         f"trial start {st['trial start']:.1f} s, idle slots {st.get('idle slots', 0.0):.1f} s, "
                         f"bookkeeping {st['bookkeeping']:.1f} s "
                         f"({st['trials']} trials)")
    comp = s["compute"]
    lines.append(f"  compute         {comp['cpu_seconds'] / 3600:.3f} CPU-h, {comp['gpu_seconds'] / 3600:.3f} GPU-h"
                 f"   wall {s['wall_seconds']:.0f} s")
    for w in s.get("warnings") or []:
        lines.append(f"  warning         {w}")
    return lines


def write_summary(study_dir: Path, summary: dict[str, Any]) -> str:
    """Write summary.json (strict JSON: no NaN) and summary.md; return the console text."""
    text = "\n".join(summary_lines(summary))
    write_json(study_dir / "summary.json", summary)
    atomic_write_text(study_dir / "summary.md", "```\n" + text + "\n```\n")
    return text
