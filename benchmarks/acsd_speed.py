"""ACSD speed and agreement: surrogate_hpo vs MALA 1.4.0 on the same arrays and the same pairs.

Data: bundled Al snapshot ``Al_298K_000`` (24^3 grid, 84 LDOS energies), bispectrum
descriptors (LAMMPS) with MALA's Al setting (rcutfac 4.67637 Å, twojmax 10: 91 features,
coordinates removed) -- through the descriptor cache.  P = Q = 200 (40 000 pairs).

Timed (best of ``--repeats``):

* ``ours``: :func:`surrogate_hpo.descriptors.acsd.acsd` (pair drawing, then per block of
  pairs one gather and one batched float64 matrix-vector product per side, divided by row
  norms computed once);
* ``ours_similarities_only``: :func:`pair_similarities` + distance on pre-drawn pairs;
* ``mala_same_pairs``: MALA's pair kernel ``ACSDAnalyzer.__calc_cosine_similarity`` called
  for each of *our* pairs (the loop of MALA's ``_calculate_cosine_similarities``), then
  MALA's distance (``clip(min=0)``, mean) -- the value must equal ours to rounding;
* ``mala_native``: MALA's ``ACSDAnalyzer._calculate_acsd`` as it is (its own unseeded
  pairs: one full permutation of the grid per point), value equal to ours only
  statistically.

Run: ``python benchmarks/acsd_speed.py [--repeats 3]``; writes
``benchmarks/results/acsd_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from bench_machine import machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from surrogate_hpo.descriptors.acsd import (  # noqa: E402
    acsd,
    acsd_from_similarities,
    acsd_pairs,
    pair_similarities,
)


def _data(name: str = "Al_298K_000"):
    from surrogate_hpo.data.bundled import BUNDLED_DIR
    from surrogate_hpo.data.generate.pack import load_packed
    from surrogate_hpo.data.sidecar import atoms_from_dict
    from surrogate_hpo.descriptors.cache import cached_bispectrum

    info = json.loads((BUNDLED_DIR / f"{name}.info.json").read_text())
    ldos = load_packed(BUNDLED_DIR / f"{name}.ldos.npz").astype(np.float32)
    cache = Path(os.environ.get("SURROGATE_HPO_CACHE", Path.home() / ".cache" / "surrogate_hpo")) / "descriptors"
    desc = cached_bispectrum(atoms_from_dict(info["atoms"]), ldos.shape[:3], rcutfac=4.67637, twojmax=10,
                             cache_dir=cache)
    return desc, ldos


def _best(fn, repeats: int):
    times, value = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    desc4, ldos4 = _data()
    feats = desc4[..., 3:].reshape(-1, desc4.shape[-1] - 3)
    ldos = ldos4.reshape(-1, ldos4.shape[-1])
    P = args.points
    out = {"machine": machine_info(), "n_grid_points": int(feats.shape[0]), "n_features": int(feats.shape[1]),
           "n_energies": int(ldos.shape[1]), "P": P, "Q": P, "n_pairs": P * P, "repeats": args.repeats}

    t_ours, v_ours = _best(lambda: acsd(feats, ldos, n_points=P, n_partners=P, seed=args.seed), args.repeats)
    pts, par = acsd_pairs(feats.shape[0], n_points=P, n_partners=P, seed=args.seed)
    t_sim, v_sim = _best(lambda: acsd_from_similarities(*pair_similarities(feats, ldos, pts, par)), args.repeats)
    out["ours"] = {"seconds": t_ours, "acsd": v_ours}
    out["ours_similarities_only"] = {"seconds": t_sim, "acsd": v_sim}

    try:
        import mala
        from mala.network.acsd_analyzer import ACSDAnalyzer
    except Exception as e:  # MALA is optional
        out["mala_error"] = repr(e)
    else:
        out["mala_version"] = getattr(mala, "__version__", "unknown")
        cos = ACSDAnalyzer._ACSDAnalyzer__calc_cosine_similarity

        def mala_same_pairs(feats=feats, ldos=ldos):
            sim = []
            for a, i in enumerate(pts):
                for j in par[a]:
                    sim.append([cos(feats[i], feats[j]), cos(ldos[i], ldos[j])])
            sim = np.array(sim)
            d = (sim[:, 0] - sim[:, 1]).clip(min=0)
            return float(np.mean(d))

        t_ms, v_ms = _best(mala_same_pairs, max(1, min(args.repeats, 2)))
        out["mala_same_pairs"] = {"seconds": t_ms, "acsd": v_ms, "abs_diff_to_ours": abs(v_ms - v_ours),
                                  "speedup_ours": t_ms / t_ours}
        # MALA's kernel works in the arrays' dtype (float32 here); in float64 it must agree to ~1e-16
        v64 = mala_same_pairs(feats.astype(np.float64), ldos.astype(np.float64))
        out["mala_same_pairs"]["acsd_float64_inputs"] = v64
        out["mala_same_pairs"]["abs_diff_to_ours_float64_inputs"] = abs(v64 - v_ours)
        t_mn, v_mn = _best(lambda: float(ACSDAnalyzer._calculate_acsd(desc4, ldos4, P, descriptor_vectors_contain_xyz=True)), 1)
        out["mala_native"] = {"seconds": t_mn, "acsd": v_mn, "speedup_ours": t_mn / t_ours,
                              "note": "MALA's own unseeded pairs; equal to ours only statistically"}

    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / "acsd_speed.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"ACSD, {P}x{P} pairs, {out['n_grid_points']} grid points, F={out['n_features']}, nE={out['n_energies']} "
          f"({out['machine']['node']}, {out['machine']['cpu_count']} CPUs)")
    print(f"{'implementation':<26} {'seconds':>10} {'ACSD':>12} {'ours faster':>12}")
    for key in ("ours", "ours_similarities_only", "mala_same_pairs", "mala_native"):
        if key in out:
            r = out[key]
            sp = f"{r['speedup_ours']:.0f}x" if "speedup_ours" in r else ""
            print(f"{key:<26} {r['seconds']:>10.4f} {r['acsd']:>12.8f} {sp:>12}")
    if "mala_same_pairs" in out:
        m = out["mala_same_pairs"]
        print(f"|ours - mala (same pairs)| = {m['abs_diff_to_ours']:.2e} (MALA in float32), "
              f"{m['abs_diff_to_ours_float64_inputs']:.2e} (MALA on float64 copies)")


if __name__ == "__main__":
    main()
