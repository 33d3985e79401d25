"""Method ``acsd``: choose the bispectrum settings (``rcutfac``, ``twojmax``) by ACSD.

No network is trained.  Every setting of the grid ``method.rcutfac x method.twojmax`` is one
Ray Tune trial: it computes the descriptors of the chosen snapshots (LAMMPS, through the
on-disk cache of :mod:`surrogate_hpo.descriptors.cache`) and reports the ACSD against the
LDOS, averaged over the snapshots (lower is better).  All settings are scored on the *same*
pairs of grid points (drawn once per snapshot from ``seed``), so differences between
settings are not sampling noise of different pairs.

Selection (the paper's rule): the ACSD keeps falling slowly with more descriptors and
larger cutoffs, so the minimum alone is not the choice.  Settings whose ACSD is within
``tolerance`` of the best (``ACSD <= min + tolerance * (max - min)``, or with
``tolerance_of: min`` ``ACSD <= min * (1 + tolerance)``) count as equally good;
among them the largest cutoff wins (more of the environment seen), then the smallest
``twojmax`` (fewest descriptors, cheapest network input).

Everything that can be wrong (settings LAMMPS rejects, a cutoff too large for a cell,
snapshots with different species or grids, missing atoms) raises
:class:`~surrogate_hpo.study.errors.ConfigError` before Ray starts.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from ray import tune

from ..descriptors.acsd import acsd_from_similarities, acsd_pairs, pair_similarities
from ..descriptors.bispectrum import MAX_CUTOFF_OVER_WIDTH, MAX_TWOJMAX, BispectrumSettings, n_bispectrum_components
from ..descriptors.cache import cached_bispectrum
from ..study.errors import ConfigError
from ..study.progress import ProgressPrinter
from ..study.results import ResultsWriter, atomic_write_text, is_finite_number, write_json
from ..study.tune_run import compute_spent, run_tune_stage

STAGE = "acsd"

__all__ = ["STAGE", "acsd_trial", "parse_grid", "run_descriptor_study", "select_setting"]


# ----------------------------------------------------------------------------- config checks
def _float_list(value: Any, key: str) -> list[float]:
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for v in items:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ConfigError(f"method.{key} must be a list of numbers, got {value!r}") from None
        if isinstance(v, bool) or not math.isfinite(f) or f <= 0:
            raise ConfigError(f"method.{key} values must be positive cutoff radii in Å, got {v!r}")
        out.append(f)
    if not out:
        raise ConfigError(f"method.{key} is empty; give at least one value, e.g. method.{key}=[4.67637]")
    return sorted(set(out))


def _int_list(value: Any, key: str) -> list[int]:
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v:
            raise ConfigError(f"method.{key} values must be integers, got {v!r}")
        if not 0 <= int(v) <= MAX_TWOJMAX:
            raise ConfigError(f"method.{key}={int(v)} is outside LAMMPS' sna/grid range [0, {MAX_TWOJMAX}] "
                              "(MALA uses 10 for Al)")
        out.append(int(v))
    if not out:
        raise ConfigError(f"method.{key} is empty; give at least one value, e.g. method.{key}=[10]")
    return sorted(set(out))


def parse_grid(m: dict[str, Any]) -> list[dict[str, Any]]:
    """The settings ``[{"rcutfac": Å, "twojmax": int}, ...]`` of ``method`` (checked)."""
    rc = _float_list(m.get("rcutfac", [4.67637]), "rcutfac")
    tj = _int_list(m.get("twojmax", [10]), "twojmax")
    return [{"rcutfac": r, "twojmax": t} for r in rc for t in tj]


def _cache_dir(m: dict[str, Any]) -> Path:
    if m.get("cache_dir"):
        return Path(str(m["cache_dir"])).expanduser().resolve()
    root = os.environ.get("SURROGATE_HPO_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "surrogate_hpo"
    return (base / "descriptors").resolve()


# ----------------------------------------------------------------------------- snapshots
def _snapshot_sources(data: dict[str, Any]) -> tuple[str, list[str], Any]:
    """``(description, names, loader)``; ``loader(name) -> (info dict, LDOS array)``."""
    kind = data.get("kind", "mala_dir")
    if kind == "sample":
        from ..data.bundled import BUNDLED_DIR, bundled_names
        from ..data.generate.pack import load_packed

        names = bundled_names()

        def load(name: str):
            info = json.loads((BUNDLED_DIR / f"{name}.info.json").read_text())
            return info, load_packed(BUNDLED_DIR / f"{name}.ldos.npz")

        return "bundled Al sample (data=sample)", names, load
    from ..study.prepared_data import resolve_data_path
    from ..data.snapshot_set import discover_snapshots

    path = resolve_data_path(data)
    names = discover_snapshots(path)

    def load(name: str):
        sidecar = path / f"{name}.info.json"
        if not sidecar.is_file():
            raise ConfigError(f"{sidecar}: missing; the acsd method needs each snapshot's atoms "
                              "(\"atoms\": symbols, positions, cell) in its sidecar")
        try:
            info = json.loads(sidecar.read_text())
        except ValueError as e:
            raise ConfigError(f"{sidecar}: not valid JSON ({e})") from None
        out = path / f"{name}.out.npy"
        if not out.is_file():
            raise ConfigError(f"{out}: missing (the LDOS of snapshot {name!r})")
        return info, np.load(out, mmap_mode="r")

    return f"MALA snapshots in {path}", names, load


def _pick_names(data: dict[str, Any], m: dict[str, Any], names: list[str]) -> list[str]:
    from ..data.errors import DataError
    from ..data.snapshot_set import default_split

    if not names:
        raise ConfigError("no snapshots found for the acsd method; check data.path")
    if m.get("snapshots"):
        chosen = [str(n) for n in m["snapshots"]]
        unknown = [n for n in chosen if n not in names]
        if unknown:
            raise ConfigError(f"method.snapshots lists {unknown}; known snapshots: {names}")
        return chosen
    n = int(m.get("n_snapshots", 2))
    if n < 1:
        raise ConfigError(f"method.n_snapshots must be >= 1, got {n}")
    try:
        split = default_split(names, train=data.get("train"), validation=data.get("validation"), test=data.get("test"))
        pool = split["train"]
    except DataError as e:
        if any(data.get(k) for k in ("train", "validation", "test")):
            raise ConfigError(str(e)) from None
        pool = names  # too few snapshots to split: use them all
    if n > len(pool):
        raise ConfigError(f"method.n_snapshots={n} but only {len(pool)} training snapshots ({pool}); "
                          f"lower method.n_snapshots or list method.snapshots")
    return pool[:n]


def _prepare_snapshots(cfg: dict[str, Any], grid: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Load atoms and the LDOS rows the ACSD pairs need; every check raises ConfigError."""
    from ..data.generate.pipeline import atoms_from_dict

    m, data = cfg["method"], cfg["data"]
    desc, names, load = _snapshot_sources(data)
    names = _pick_names(data, m, names)
    p = int(m.get("n_points", 200))
    q = int(m.get("n_partners") or p)
    if p < 1 or q < 1:
        raise ConfigError(f"method.n_points and method.n_partners must be >= 1, got {p}, {q}")
    seed = int(cfg.get("seed", 0))
    radelem = BispectrumSettings().radelem
    max_rc = max(s["rcutfac"] for s in grid)
    snaps: list[dict[str, Any]] = []
    for k, name in enumerate(names):
        info, ldos = load(name)
        if not info.get("atoms"):
            raise ConfigError(f"snapshot {name!r}: its sidecar has no \"atoms\"; the acsd method needs the structure")
        try:
            atoms = atoms_from_dict(info["atoms"])
        except Exception as e:
            raise ConfigError(f"snapshot {name!r}: cannot read \"atoms\" from its sidecar ({e})") from None
        if ldos.ndim != 4:
            raise ConfigError(f"snapshot {name!r}: LDOS must be (nx, ny, nz, nE), got shape {ldos.shape}")
        grid_shape = tuple(int(g) for g in ldos.shape[:3])
        if info.get("grid_dimensions") and tuple(int(g) for g in info["grid_dimensions"]) != grid_shape:
            raise ConfigError(f"snapshot {name!r}: LDOS grid {grid_shape} != grid_dimensions "
                              f"{tuple(info['grid_dimensions'])} of its sidecar")
        cell = np.asarray(atoms.cell[:], dtype=float)
        volume = float(np.linalg.det(cell))
        if not np.all(atoms.pbc) or abs(volume) < 1e-8:
            raise ConfigError(f"snapshot {name!r}: needs a fully periodic 3-D cell for LAMMPS")
        if volume < 0:
            raise ConfigError(f"snapshot {name!r}: left-handed cell; LAMMPS needs a right-handed one")
        widths = volume / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
        limit = MAX_CUTOFF_OVER_WIDTH * widths.min() / (2.0 * radelem)
        if max_rc > limit:
            raise ConfigError(f"method.rcutfac={max_rc:g} Å is too large for snapshot {name!r} (smallest cell "
                              f"width {widths.min():.3f} Å): at most {limit:.3f} Å; drop it or use a larger cell")
        species = sorted(set(atoms.get_chemical_symbols()))
        if len(species) != 1:
            raise ConfigError(f"snapshot {name!r} has species {species}; bispectrum descriptors here support "
                              "one chemical element (MALA's single-element setup)")
        if snaps and (species != snaps[0]["species"] or grid_shape != snaps[0]["grid"]):
            raise ConfigError(
                f"snapshots differ: {snaps[0]['name']!r} has species {snaps[0]['species']} on grid "
                f"{snaps[0]['grid']}, {name!r} has {species} on {grid_shape}; the ACSD study needs one species "
                "and one grid (choose method.snapshots)")
        n_total = int(np.prod(grid_shape))
        points, partners = acsd_pairs(n_total, n_points=p, n_partners=q, seed=np.random.default_rng([seed, k]))
        used = np.unique(np.concatenate([points, partners.ravel()]))
        rows = np.asarray(ldos.reshape(n_total, ldos.shape[-1])[used], dtype=np.float64)
        if not np.all(np.isfinite(rows)):
            raise ConfigError(f"snapshot {name!r}: the LDOS has non-finite values")
        snaps.append({
            "name": name, "atoms": info["atoms"], "grid": grid_shape, "species": species, "used": used,
            "points": np.searchsorted(used, points), "partners": np.searchsorted(used, partners),
            "ldos_rows": rows, "n_energies": int(ldos.shape[-1]),
        })
    return desc, snaps


# ----------------------------------------------------------------------------- the trial
def acsd_of_setting(rcutfac: float, twojmax: int, snapshots: list[dict[str, Any]], *, cache_dir: str | Path,
                    clip: bool = True) -> dict[str, Any]:
    """ACSD of one setting on the prepared snapshots (no Tune): mean and per snapshot."""
    from ..data.generate.pipeline import atoms_from_dict

    per, t_desc, t_acsd = [], 0.0, 0.0
    for s in snapshots:
        t0 = time.perf_counter()
        desc = cached_bispectrum(atoms_from_dict(s["atoms"]), s["grid"], rcutfac=rcutfac, twojmax=twojmax,
                                 cache_dir=cache_dir)
        t1 = time.perf_counter()
        feats = desc[..., 3:].reshape(-1, desc.shape[-1] - 3)[s["used"]]
        s_b, s_d = pair_similarities(feats, s["ldos_rows"], s["points"], s["partners"])
        per.append(acsd_from_similarities(s_b, s_d, clip=clip))
        t_desc += t1 - t0
        t_acsd += time.perf_counter() - t1
    return {"acsd": float(np.mean(per)), "acsd_per_snapshot": per, "descriptor_seconds": t_desc,
            "acsd_seconds": t_acsd, "n_features": n_bispectrum_components(twojmax)}


def acsd_trial(config: dict[str, Any], *, snapshots: list[dict[str, Any]], cache_dir: str, clip: bool) -> None:
    """Tune trial: the ACSD of ``config['setting']`` (``rcutfac``, ``twojmax``)."""
    s = config["setting"]
    out = acsd_of_setting(float(s["rcutfac"]), int(s["twojmax"]), snapshots, cache_dir=cache_dir, clip=clip)
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
             "status": "ok"}]


# ----------------------------------------------------------------------------- selection
def select_setting(rows: list[dict[str, Any]], tolerance: float = 0.1,
                   tolerance_of: str = "range") -> tuple[dict[str, Any], dict[str, Any]]:
    """The paper's rule: among settings with ``acsd <= min + tolerance * (max - min)``
    (``tolerance_of="range"``) or ``acsd <= min * (1 + tolerance)`` (``"min"``), the largest
    ``rcutfac``, then the smallest ``twojmax``.  Returns ``(chosen row, details)``.

    ``"range"`` depends on the worst setting of the grid (one very bad setting widens the
    band); ``"min"`` does not."""
    ok = [r for r in rows if r.get("acsd") is not None and math.isfinite(float(r["acsd"]))]
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


def _table(rows: list[dict[str, Any]], chosen: dict[str, Any], threshold: float) -> list[str]:
    lines = [f"  {'rcutfac/Å':>9}  {'twojmax':>7}  {'F':>4}  {'ACSD':>10}", "  " + "-" * 38]
    for r in sorted(rows, key=lambda r: (float(r["rcutfac"]), int(r["twojmax"]))):
        mark = ""
        if float(r["acsd"]) <= threshold + 1e-15:
            mark = "  *"
        if float(r["rcutfac"]) == float(chosen["rcutfac"]) and int(r["twojmax"]) == int(chosen["twojmax"]):
            mark = "  <- chosen"
        lines.append(f"  {float(r['rcutfac']):>9.4g}  {int(r['twojmax']):>7d}  {int(r['n_features']):>4d}  "
                     f"{float(r['acsd']):>10.5f}{mark}")
    lines.append("  (* within tolerance)")
    return lines


# ----------------------------------------------------------------------------- the study
def run_descriptor_study(cfg: dict[str, Any], study_dir: Path, *, resume: bool) -> dict[str, Any]:
    """Score every (rcutfac, twojmax) of ``cfg['method']`` by ACSD with Tune; pick one; write the summary."""
    from ..study.resources import check_cluster_config, start_ray

    t_start = time.perf_counter()
    study_dir = Path(study_dir)
    m = dict(cfg["method"])
    grid = parse_grid(m)
    tolerance = float(m.get("tolerance", 0.2))
    tolerance_of = str(m.get("tolerance_of", "min"))
    if tolerance_of not in ("range", "min"):
        raise ConfigError(f"method.tolerance_of must be 'range' or 'min', got {tolerance_of!r}")
    if tolerance_of == "range" and not 0 <= tolerance <= 1:
        raise ConfigError(f"method.tolerance must be in [0, 1] (a fraction of the ACSD range), got {tolerance}")
    if tolerance < 0:
        raise ConfigError(f"method.tolerance must be >= 0, got {tolerance}")
    clip = bool(m.get("clip", True))
    check_cluster_config(cfg["cluster"])
    data_desc, snaps = _prepare_snapshots(cfg, grid)  # every config/data error surfaces here
    cache_dir = _cache_dir(m)
    names = [s["name"] for s in snaps]
    p, q = len(snaps[0]["points"]), snaps[0]["partners"].shape[1]
    print(f"[acsd] {len(grid)} descriptor settings (rcutfac {sorted({g['rcutfac'] for g in grid})} Å x twojmax "
          f"{sorted({g['twojmax'] for g in grid})}) on {len(names)} snapshot(s) {names} of {data_desc}, "
          f"{p}x{q} pairs each; descriptor cache {cache_dir}", flush=True)

    start_ray(cfg["cluster"])
    writer = ResultsWriter(study_dir, STAGE, _rows_of, metric="acsd", mode="min", key=("rcutfac", "twojmax"))
    progress = ProgressPrinter(
        STAGE, len(grid), unit="settings", mode="min",
        best_of=lambda r: (float(r["acsd"]), f"rcutfac={r['rcutfac']:g} twojmax={int(r['twojmax'])}")
        if "acsd" in r else None,
    )
    trainable = tune.with_parameters(acsd_trial, snapshots=snaps, cache_dir=str(cache_dir), clip=clip)
    t0 = time.perf_counter()
    results = run_tune_stage(
        trainable, name=STAGE, storage=(study_dir / "tune").resolve(), cluster=cfg["cluster"], resume=resume,
        param_space={"setting": tune.grid_search(grid)}, callbacks=[writer, progress],
    )
    search_wall = time.perf_counter() - t0

    wanted = {(g["rcutfac"], g["twojmax"]) for g in grid}
    rows = [r for r in writer.rows if r.get("status") == "ok" and is_finite_number(r.get("acsd"))
            and (float(r["rcutfac"]), int(r["twojmax"])) in wanted]
    if not rows:
        raise RuntimeError(f"no ACSD setting was scored; see {study_dir / 'tune' / STAGE}")
    failed = len(grid) - len(rows)
    chosen, sel = select_setting(rows, tolerance, tolerance_of)
    table = _table(rows, chosen, sel["threshold"])
    band = "range" if tolerance_of == "range" else "minimum"
    explain = (f"[acsd] lowest ACSD {sel['min_acsd']:.5f} (rcutfac={sel['lowest']['rcutfac']:g}, twojmax="
               f"{sel['lowest']['twojmax']}); {sel['n_within_tolerance']} setting(s) within tolerance "
               f"{tolerance:g} of the ACSD {band} (<= {sel['threshold']:.5f}); of those the largest cutoff, "
               f"then the smallest twojmax: "
               f"rcutfac={float(chosen['rcutfac']):g} Å, twojmax={int(chosen['twojmax'])} "
               f"({int(chosen['n_features'])} descriptors), ACSD {float(chosen['acsd']):.5f}")
    print(explain, flush=True)
    print("\n".join(table), flush=True)

    chosen_out = {"rcutfac": float(chosen["rcutfac"]), "twojmax": int(chosen["twojmax"]),
                  "n_features": int(chosen["n_features"]), "acsd": float(chosen["acsd"])}
    details: dict[str, Any] = {
        "n_settings": len(grid), "n_scored": len(rows), "n_failed": failed, "snapshots": names,
        "n_points": p, "n_partners": q, "clip": clip, "search_wall_seconds": search_wall,
        "cache_dir": str(cache_dir), "trials_csv": str(writer.csv_path),
    }
    if m.get("write_dataset"):
        details["dataset"] = str(_write_dataset(cfg, study_dir / "dataset", chosen_out, cache_dir))
        print(f"[acsd] wrote the chosen descriptors as MALA files to {details['dataset']}", flush=True)
    summary = {
        "study_name": cfg["study_name"], "method": "acsd", "study_dir": str(study_dir), "data": data_desc,
        "chosen": chosen_out, "objective": chosen_out["acsd"], "selection": sel,
        "settings": [{k: r.get(k) for k in ("rcutfac", "twojmax", "n_features", "acsd")} for r in
                     sorted(rows, key=lambda r: (float(r["rcutfac"]), int(r["twojmax"])))],
        "method_details": details, "compute": compute_spent(results, cfg["cluster"]),
        "wall_seconds": time.perf_counter() - t_start,
    }
    write_json(study_dir / "acsd_chosen.json", {"descriptors": BispectrumSettings(
        rcutfac=chosen_out["rcutfac"], twojmax=chosen_out["twojmax"]).to_dict(), "acsd": chosen_out["acsd"]})
    text = "\n".join([f"Study '{cfg['study_name']}' (method acsd)  ->  {study_dir}", f"  data      {data_desc}",
                      f"  snapshots {names}, {p}x{q} pairs each", explain.replace("[acsd] ", "  "), *table])
    write_json(study_dir / "summary.json", summary)
    atomic_write_text(study_dir / "summary.md", "```\n" + text + "\n```\n")
    return summary


def _write_dataset(cfg: dict[str, Any], out_dir: Path, chosen: dict[str, Any], cache_dir: Path) -> Path:
    """Every snapshot of the data with the chosen descriptors, as ``<name>.in/.out.npy`` + ``.info.json``."""
    from ..data.generate.pipeline import atoms_from_dict

    _, names, load = _snapshot_sources(cfg["data"])
    settings = BispectrumSettings(rcutfac=chosen["rcutfac"], twojmax=chosen["twojmax"])
    tmp = out_dir.with_name(f".{out_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in names:
        info, ldos = load(name)
        grid_shape = tuple(int(g) for g in ldos.shape[:3])
        desc = cached_bispectrum(atoms_from_dict(info["atoms"]), grid_shape, rcutfac=chosen["rcutfac"],
                                 twojmax=chosen["twojmax"], cache_dir=cache_dir)
        np.save(tmp / f"{name}.in.npy", desc)
        np.save(tmp / f"{name}.out.npy", np.asarray(ldos, dtype=np.float32))
        info = dict(info)
        info["descriptors"] = settings.to_dict()
        (tmp / f"{name}.info.json").write_text(json.dumps(info, indent=1) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return out_dir
