"""Method ``acsd``: choose the bispectrum settings (``rcutfac``, ``twojmax``) by ACSD.

No network is trained. Every setting of the grid ``method.rcutfac x method.twojmax`` is one
Tune trial: it computes the descriptors of the chosen snapshots (LAMMPS, through the
descriptor cache) and reports the ACSD against the LDOS, averaged over the snapshots
(lower is better). All settings are scored on the same pairs of grid points (drawn once
per snapshot from ``seed``), so differences between settings are not sampling noise.

Selection (the paper's rule): settings whose ACSD is within ``tolerance`` of the best
(``tolerance_of: min``: ``ACSD <= min * (1 + tolerance)``; ``range``: ``min + tolerance *
(max - min)``) count as equally good; among them the largest cutoff wins, then the
smallest ``twojmax``. The snapshots come through the study's data loading (atoms from the
sidecars or the pw.x outputs; no descriptors needed).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from ase import Atoms
from ray import tune

from ...data.descriptor_set import default_cache_dir, write_descriptor_set
from ...data.snapshot import Snapshot
from ...data.snapshot_set import SnapshotSet
from ...descriptors.acsd import acsd_from_similarities, acsd_pairs, pair_similarities
from ...descriptors.bispectrum import (
    MAX_CUTOFF_OVER_WIDTH,
    MAX_TWOJMAX,
    BispectrumSettings,
    n_bispectrum_components,
)
from ...descriptors.cache import cached_bispectrum
from ...errors import ConfigError, DataError
from ...study.context import Outcome, StudyContext
from ...study.progress import ProgressPrinter
from ...study.trials_table import (
    OK,
    TableWriter,
    TrialsTable,
    compute_of_rows,
    is_finite_number,
)
from ...study.tune_stage import run_stage
from ...util.atomic import write_json
from ...util.typed_config import spec
from ..base import Method, MethodConfig

__all__ = ["Acsd", "AcsdConfig", "acsd_of_setting", "acsd_trial", "prepare_pairs", "select_setting"]

STAGE = "acsd"


@dataclass
class AcsdConfig(MethodConfig):
    name: Literal["acsd"]
    rcutfac: list[float]
    twojmax: list[int]
    n_snapshots: int = spec(ge=1)
    snapshots: list[str] | None
    n_points: int = spec(ge=2)
    n_partners: int | None = spec(ge=1)
    clip: bool
    tolerance: float = spec(ge=0)
    tolerance_of: Literal["min", "range"]
    cache_dir: str | None
    write_dataset: bool
    element_weights: dict[str, float] | None
    element_radii: dict[str, float] | None

    def check(self) -> None:
        if not self.rcutfac or not self.twojmax:
            raise ConfigError("method.rcutfac and method.twojmax need at least one value each, e.g. "
                              "method.rcutfac=[4.67637] method.twojmax=[10]")
        bad = [r for r in self.rcutfac if not (math.isfinite(r) and r > 0)]
        if bad:
            raise ConfigError(f"method.rcutfac values must be positive cutoff radii in Å, got {bad}")
        bad = [t for t in self.twojmax if not 0 <= t <= MAX_TWOJMAX]
        if bad:
            raise ConfigError(f"method.twojmax={bad} is outside LAMMPS' sna/grid range [0, {MAX_TWOJMAX}] "
                              "(MALA uses 10 for Al)")
        bad = {e: v for e, v in {**(self.element_weights or {}), **(self.element_radii or {})}.items()
               if not (math.isfinite(float(v)) and float(v) > 0)}
        if bad:
            raise ConfigError(f"method.element_weights / method.element_radii must be positive, got {bad}")
        if self.tolerance_of == "range" and self.tolerance > 1:
            raise ConfigError(f"method.tolerance={self.tolerance} must be in [0, 1] (a fraction of the ACSD range)")

    def grid(self) -> list[dict[str, Any]]:
        """The settings ``[{"rcutfac": Å, "twojmax": int}, ...]``."""
        return [{"rcutfac": float(r), "twojmax": int(t)} for r in sorted(set(self.rcutfac))
                for t in sorted(set(self.twojmax))]


# ----------------------------------------------------------------------------- snapshots
def _cell_widths(atoms: Atoms) -> np.ndarray:
    cell = np.asarray(atoms.cell[:], dtype=float)
    volume = float(np.linalg.det(cell))
    return abs(volume) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)


def pick_snapshots(sset: SnapshotSet, config: AcsdConfig) -> list[Snapshot]:
    """``method.snapshots`` by name, else the first ``method.n_snapshots`` training snapshots."""
    if config.snapshots:
        by_name = {s.name: s for s in sset.all}
        unknown = [n for n in config.snapshots if n not in by_name]
        if unknown:
            raise ConfigError(f"method.snapshots lists {unknown}; the data has {sorted(by_name)}")
        return [by_name[n] for n in config.snapshots]
    if config.n_snapshots > len(sset.train):
        raise ConfigError(f"method.n_snapshots={config.n_snapshots} but the data has only {len(sset.train)} "
                          f"training snapshots ({sset.names('train')}); lower it or list method.snapshots")
    return sset.train[:config.n_snapshots]


def base_settings(sset: SnapshotSet, config: AcsdConfig) -> BispectrumSettings:
    """The descriptor settings besides (rcutfac, twojmax): every species of the data (LAMMPS
    types, alphabetical) and the per-element weights and radii of ``method``."""
    species = sorted({e for s in sset.all if s.atoms is not None for e in s.atoms.get_chemical_symbols()})
    weights, radii = dict(config.element_weights or {}), dict(config.element_radii or {})
    unknown = sorted((set(weights) | set(radii)) - set(species))
    if unknown and species:
        raise ConfigError(f"method.element_weights/element_radii name {unknown}; the snapshots hold {species}")
    return BispectrumSettings(species=tuple(species), element_weights=weights, element_radii=radii)


def prepare_pairs(snapshots: list[Snapshot], config: AcsdConfig, seed: int,
                  base: BispectrumSettings | None = None) -> list[dict[str, Any]]:
    """Per snapshot the atoms, grid, pairs of points and the LDOS rows they need (checked)."""
    base = base or BispectrumSettings()
    radelem = max([base.radius_of(e) for e in base.species] or [base.radelem])
    max_rc = max(config.rcutfac)
    p = config.n_points
    q = config.n_partners or p
    out: list[dict[str, Any]] = []
    for k, s in enumerate(snapshots):
        if s.atoms is None:
            raise DataError(f"snapshot {s.name}: no atoms (sidecar \"atoms\" or a pw.x output); the acsd method "
                            "computes descriptors from the structure")
        cell = np.asarray(s.atoms.cell[:], dtype=float)
        volume = float(np.linalg.det(cell))
        if not np.all(s.atoms.pbc) or abs(volume) < 1e-8:
            raise DataError(f"snapshot {s.name}: needs a fully periodic 3-D cell for LAMMPS")
        if volume < 0:
            raise DataError(f"snapshot {s.name}: left-handed cell; LAMMPS needs a right-handed one")
        limit = MAX_CUTOFF_OVER_WIDTH * _cell_widths(s.atoms).min() / (2.0 * radelem)
        if max_rc > limit:
            raise ConfigError(f"method.rcutfac={max_rc:g} Å is too large for snapshot {s.name} (smallest cell width "
                              f"{_cell_widths(s.atoms).min():.3f} Å): at most {limit:.3f} Å; drop it")
        n_total = s.n_points
        points, partners = acsd_pairs(n_total, n_points=p, n_partners=q, seed=np.random.default_rng([seed, k]))
        used = np.unique(np.concatenate([points, partners.ravel()]))
        rows = np.asarray(np.asarray(s.ldos).reshape(n_total, s.n_energies)[used], dtype=np.float64)
        out.append({"name": s.name, "atoms": s.atoms, "grid": s.grid_shape, "used": used,
                    "points": np.searchsorted(used, points), "partners": np.searchsorted(used, partners),
                    "ldos_rows": rows})
    return out


# ----------------------------------------------------------------------------- the trial
def acsd_of_setting(rcutfac: float, twojmax: int, snapshots: list[dict[str, Any]], *, cache_dir: str | Path,
                    clip: bool = True, base: BispectrumSettings | None = None) -> dict[str, Any]:
    """ACSD of one setting on the prepared snapshots (no Tune): mean and per snapshot."""
    per, t_desc, t_acsd = [], 0.0, 0.0
    for s in snapshots:
        t0 = time.perf_counter()
        desc = cached_bispectrum(s["atoms"], s["grid"], rcutfac=rcutfac, twojmax=twojmax, cache_dir=cache_dir,
                                 settings=base)
        t1 = time.perf_counter()
        feats = desc[..., 3:].reshape(-1, desc.shape[-1] - 3)[s["used"]]
        s_b, s_d = pair_similarities(feats, s["ldos_rows"], s["points"], s["partners"])
        per.append(acsd_from_similarities(s_b, s_d, clip=clip))
        t_desc += t1 - t0
        t_acsd += time.perf_counter() - t1
    return {"acsd": float(np.mean(per)), "acsd_per_snapshot": per, "descriptor_seconds": t_desc,
            "acsd_seconds": t_acsd, "n_features": n_bispectrum_components(twojmax)}


def acsd_trial(config: dict[str, Any], *, snapshots: list[dict[str, Any]], cache_dir: str, clip: bool,
               base: BispectrumSettings | None = None) -> None:
    """Tune trial: the ACSD of ``config['setting']`` (``rcutfac``, ``twojmax``)."""
    s = config["setting"]
    out = acsd_of_setting(float(s["rcutfac"]), int(s["twojmax"]), snapshots, cache_dir=cache_dir, clip=clip,
                          base=base)
    out["acsd_per_snapshot"] = json.dumps(out["acsd_per_snapshot"])  # Tune's loggers take no lists
    tune.report({**out, "rcutfac": float(s["rcutfac"]), "twojmax": int(s["twojmax"])})


def _rows_of(trial: Any) -> list[dict[str, Any]]:
    r = trial.last_result or {}
    s = (trial.config or {}).get("setting", {})
    base = {"rcutfac": float(s.get("rcutfac", math.nan)), "twojmax": int(s.get("twojmax", -1)), "trial_id": trial.trial_id}
    if "acsd" not in r:
        return [{**base, "status": "error", "error": str(getattr(trial, "error_file", ""))}]
    return [{**base, "n_features": int(r["n_features"]), "acsd": float(r["acsd"]),
             "acsd_per_snapshot": json.loads(r["acsd_per_snapshot"]),
             "descriptor_seconds": float(r["descriptor_seconds"]), "acsd_seconds": float(r["acsd_seconds"]),
             "status": OK}]


# ----------------------------------------------------------------------------- selection
def select_setting(rows: list[dict[str, Any]], tolerance: float = 0.1,
                   tolerance_of: str = "range") -> tuple[dict[str, Any], dict[str, Any]]:
    """The paper's rule: among settings with ``acsd <= min + tolerance * (max - min)``
    (``tolerance_of="range"``) or ``acsd <= min * (1 + tolerance)`` (``"min"``), the largest
    ``rcutfac``, then the smallest ``twojmax``. Returns ``(chosen row, details)``.

    ``"range"`` depends on the worst setting of the grid (one very bad setting widens the
    band); ``"min"`` does not."""
    ok = [r for r in rows if is_finite_number(r.get("acsd"))]
    if not ok:
        raise ValueError("no setting has a finite ACSD")
    values = [float(r["acsd"]) for r in ok]
    lo, hi = min(values), max(values)
    if tolerance_of == "range":
        threshold = lo + float(tolerance) * (hi - lo)
        rule = "acsd <= min + tolerance * (max - min); then largest rcutfac, then smallest twojmax"
    elif tolerance_of == "min":
        threshold = lo * (1.0 + float(tolerance))
        rule = "acsd <= min * (1 + tolerance); then largest rcutfac, then smallest twojmax"
    else:
        raise ValueError(f"tolerance_of must be 'range' or 'min', got {tolerance_of!r}")
    near = [r for r in ok if float(r["acsd"]) <= threshold + 1e-15]
    chosen = min(near, key=lambda r: (-float(r["rcutfac"]), int(r["twojmax"])))
    best = min(ok, key=lambda r: float(r["acsd"]))
    return chosen, {
        "rule": rule, "tolerance": float(tolerance), "tolerance_of": tolerance_of,
        "min_acsd": lo, "max_acsd": hi, "threshold": threshold,
        "n_within_tolerance": len(near),
        "lowest": {"rcutfac": float(best["rcutfac"]), "twojmax": int(best["twojmax"]), "acsd": float(best["acsd"])},
    }


def settings_table(rows: list[dict[str, Any]], chosen: dict[str, Any], threshold: float) -> list[str]:
    """The scored settings as text lines, the chosen one and those within tolerance marked."""
    lines = [f"  {'rcutfac/Å':>9}  {'twojmax':>7}  {'F':>4}  {'ACSD':>10}", "  " + "-" * 38]
    for r in sorted(rows, key=lambda r: (float(r["rcutfac"]), int(r["twojmax"]))):
        mark = "  *" if float(r["acsd"]) <= threshold + 1e-15 else ""
        if float(r["rcutfac"]) == float(chosen["rcutfac"]) and int(r["twojmax"]) == int(chosen["twojmax"]):
            mark = "  <- chosen"
        lines.append(f"  {float(r['rcutfac']):>9.4g}  {int(r['twojmax']):>7d}  {int(r['n_features']):>4d}  "
                     f"{float(r['acsd']):>10.5f}{mark}")
    lines.append("  (* within tolerance)")
    return lines


def acsd_stage(study: StudyContext, c: AcsdConfig, base: BispectrumSettings, snaps: list[dict[str, Any]]
               ) -> tuple[BispectrumSettings, dict[str, Any], dict[str, Any], dict[str, float]]:
    """Score every (rcutfac, twojmax) not yet in the table; ``(chosen settings, chosen row,
    details, compute)``."""
    grid = c.grid()
    cache_dir = default_cache_dir(c.cache_dir)
    names = [s["name"] for s in snaps]
    p, q = len(snaps[0]["points"]), snaps[0]["partners"].shape[1]
    table = TrialsTable(study.study_dir, STAGE, key=("rcutfac", "twojmax"), metric="acsd", mode="min")
    done = {(float(r["rcutfac"]), int(r["twojmax"])) for r in table.ok_rows()}
    todo = [g for g in grid if (g["rcutfac"], g["twojmax"]) not in done]
    print(f"[acsd] {len(grid)} descriptor settings (rcutfac {sorted(set(c.rcutfac))} Å x twojmax "
          f"{sorted(set(c.twojmax))}) on {len(names)} snapshot(s) {names}, {p}x{q} pairs each; descriptor cache "
          f"{cache_dir}" + (f"; {len(grid) - len(todo)} already scored" if len(todo) < len(grid) else ""),
          flush=True)
    progress = ProgressPrinter(STAGE, len(grid), unit="settings", mode="min", already=len(grid) - len(todo),
                               best_of=lambda r: (float(r["acsd"]), f"rcutfac={r['rcutfac']:g} "
                                                  f"twojmax={int(r['twojmax'])}") if "acsd" in r else None)
    t0 = time.perf_counter()
    if todo:
        run_stage(tune.with_parameters(acsd_trial, snapshots=snaps, cache_dir=str(cache_dir), clip=c.clip,
                                       base=base),
                  stage=STAGE, storage=study.tune_dir(), cluster=study.cluster,
                  param_space={"setting": tune.grid_search(todo)}, callbacks=[TableWriter(table, _rows_of),
                                                                              progress])
    wall = time.perf_counter() - t0
    wanted = {(g["rcutfac"], g["twojmax"]) for g in grid}
    rows = [r for r in table.ok_rows() if (float(r["rcutfac"]), int(r["twojmax"])) in wanted
            and is_finite_number(r.get("acsd"))]
    if not rows:
        raise RuntimeError(f"no ACSD setting was scored; see {study.tune_dir() / STAGE}")
    chosen, sel = select_setting(rows, c.tolerance, c.tolerance_of)
    band = "range" if c.tolerance_of == "range" else "minimum"
    print(f"[acsd] lowest ACSD {sel['min_acsd']:.5f} (rcutfac={sel['lowest']['rcutfac']:g}, twojmax="
          f"{sel['lowest']['twojmax']}); {sel['n_within_tolerance']} setting(s) within tolerance {c.tolerance:g} "
          f"of the ACSD {band} (<= {sel['threshold']:.5f}); of those the largest cutoff, then the smallest "
          f"twojmax: rcutfac={float(chosen['rcutfac']):g} Å, twojmax={int(chosen['twojmax'])} "
          f"({int(chosen['n_features'])} descriptors), ACSD {float(chosen['acsd']):.5f}", flush=True)
    table_lines = settings_table(rows, chosen, sel["threshold"])
    print("\n".join(table_lines), flush=True)
    settings = dataclasses.replace(base, rcutfac=float(chosen["rcutfac"]), twojmax=int(chosen["twojmax"]))
    write_json(study.study_dir / "acsd_chosen.json", {"descriptors": settings.to_dict(),
                                                      "acsd": float(chosen["acsd"])})
    details: dict[str, Any] = {
        "n_settings": len(grid), "n_scored": len(rows), "n_failed": len(grid) - len(rows), "snapshots": names,
        "n_points": p, "n_partners": q, "clip": c.clip, "selection": sel, "search_wall_seconds": wall,
        "cache_dir": str(cache_dir), "trials_csv": str(table.csv_path), "settings_table": table_lines,
    }
    compute = compute_of_rows(table.rows, study.cluster.cpus_per_trial, study.cluster.gpus_per_trial)
    return settings, chosen, details, compute


class Acsd(Method[AcsdConfig]):
    name = "acsd"
    config_type = AcsdConfig
    data = "snapshots"

    def describe(self) -> str:
        return f"ACSD over {len(self.config.grid())} descriptor settings, no training"

    def prepare(self, snapshots: SnapshotSet, seed: int) -> None:
        self.base = base_settings(snapshots, self.config)
        self.pairs = prepare_pairs(pick_snapshots(snapshots, self.config), self.config, seed, self.base)

    def run(self, study: StudyContext) -> Outcome:
        c = self.config
        settings, chosen, details, compute = acsd_stage(study, c, self.base, self.pairs)
        if c.write_dataset:
            out = write_descriptor_set(study.snapshots.all, settings, study.study_dir / "dataset",
                                       cache_dir=default_cache_dir(c.cache_dir))
            details["dataset"] = str(out)
            print(f"[acsd] wrote the chosen descriptors as MALA files to {out}", flush=True)
        return Outcome(descriptors={**settings.to_dict(), "n_features": int(chosen["n_features"])},
                       objective=float(chosen["acsd"]), details=details, compute=compute)
