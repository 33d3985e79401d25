"""NASWOT speed and agreement: surrogate_hpo vs MALA, side by side on one machine.

Section 1 (``bench_scoring``): for candidate architectures drawn from the default search
space (``surrogate_hpo/conf/search_space/default.yaml``: 2-3 hidden layers, widths {32, 64, 128},
activations {sigmoid, relu, leakyrelu, tanh} per layer; ``--space wide``: 2-4 layers,
widths up to 512), F=91 inputs and nE=84 outputs as in the bundled data, the NASWOT mean
score over T=5 initialisations with batch B=64 is computed by

* ``ours``: :func:`surrogate_hpo.scores.naswot_mean_score` (Architecture path: batched
  weights, explicit Jacobians, one batched ``eigvalsh``);
* ``ours-pool``: the same with ``weights="pool"`` (weights are windows of a shared pool of
  uniform numbers: no drawing cost; common random numbers across candidates);
* ``ours-autograd``: the same with ``method="autograd"`` (T modules, autograd backward);
* ``mala``: MALA's own code, per initialisation as in ``ObjectiveNASWOT.__call__``:
  ``mala.network.Network(params)``, a ``DataLoader`` over the training rows, its private
  ``__get_batch_jacobian`` and ``__calc_score`` (k = 1e-4, float32, ``torch.linalg.eig``).

Agreement: MALA's ``__get_batch_jacobian`` + ``__calc_score`` are called on networks
holding *our* weights (copied into MALA's ``FeedForwardNet``), the same batch and the
same k, natively (float32) and in float64, and compared with our scores; Kendall tau of
the candidates' mean scores is reported too.

Tune's share of a study's wall time is measured by ``benchmarks/study_overhead.py``.

Run: ``python benchmarks/naswot_speed.py [--candidates 60 --repeats 5 --threads 1]``.
Writes ``benchmarks/results/naswot_speed.json``. MALA is optional
(``pip install --no-deps materials-learning-algorithms`` plus its light import deps);
without it only our timings are written.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench_machine import machine_info  # noqa: E402

from surrogate_hpo.model import Architecture  # noqa: E402
from surrogate_hpo.scores import MALA_K, mean_minus_std, naswot_mean_score  # noqa: E402
from surrogate_hpo.scores.naswot import _init_stacked, stacked_to_modules  # noqa: E402

WIDTHS = (32, 64, 128, 256, 512)
ACTS = ("sigmoid", "relu", "leakyrelu", "tanh")
MALA_ACT = {"sigmoid": "Sigmoid", "relu": "ReLU", "leakyrelu": "LeakyReLU", "tanh": "Tanh"}
RESULTS = ROOT / "benchmarks" / "results"


# --------------------------------------------------------------------------- inputs


def search_space_sample(n: int, seed: int = 0, space: str | None = "default") -> list[Architecture]:
    """``n`` architectures drawn (seeded) from ``surrogate_hpo/conf/search_space/<space>.yaml``'s grid;
    ``space=None``: a wider synthetic space, 2-4 hidden layers of widths up to 512."""
    rng = np.random.default_rng(seed)
    if space is not None:
        import yaml

        from surrogate_hpo.search.space import parse_search_space

        grid = parse_search_space(yaml.safe_load((ROOT / "surrogate_hpo" / "conf" / "search_space" / f"{space}.yaml").read_text()))
        cands = grid.candidates()
        pick = rng.choice(len(cands), size=min(n, len(cands)), replace=False)
        return [cands[i].to_architecture() for i in pick]
    out = []
    for _ in range(n):
        depth = int(rng.integers(2, 5))
        out.append(Architecture(widths=[int(w) for w in rng.choice(WIDTHS, depth)],
                                activations=[str(a) for a in rng.choice(ACTS, depth)]))
    return out


def load_rows(n_features: int = 91, n_rows: int = 4096, seed: int = 0) -> tuple[np.ndarray, str]:
    """Standardised descriptor rows: the bundled snapshots if available, else random.

    Returns ``(rows (N x F) float32, source description)``.
    """
    try:
        from surrogate_hpo.data.bundled import sample_directory

        d = sample_directory()
        files = sorted(Path(d).glob("*.in.npy"))
        if not files:
            raise FileNotFoundError("no .in.npy in the bundled sample")
        x = np.load(files[0], mmap_mode="r")
        x = np.asarray(x[..., 3:], dtype=np.float32).reshape(-1, x.shape[-1] - 3)
        std = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
        return x.astype(np.float32), f"bundled snapshot {files[0].name} ({x.shape[0]} points, F={x.shape[1]})"
    except Exception as exc:  # no bundled data (yet): fixed-seed random rows
        rng = np.random.default_rng(seed)
        return (rng.standard_normal((n_rows, n_features), dtype=np.float32),
                f"random normal rows, numpy default_rng({seed}) ({n_rows} x {n_features}); "
                f"bundled data unavailable: {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- MALA side


class MalaNaswot:
    """MALA's real NASWOT code (private static methods of ``ObjectiveNASWOT``)."""

    def __init__(self) -> None:
        import mala
        from mala.network.network import Network
        from mala.network.objective_naswot import ObjectiveNASWOT

        self.version = getattr(mala, "__version__", "?")
        self.Network = Network
        self.Parameters = mala.Parameters
        self.jacobian = ObjectiveNASWOT._ObjectiveNASWOT__get_batch_jacobian
        self.calc_score = ObjectiveNASWOT._ObjectiveNASWOT__calc_score

    def params(self, arch: Architecture, n_in: int, n_out: int):
        p = self.Parameters()
        p.verbosity = 0
        p.device = "cpu"
        p.network.nn_type = "feed-forward"
        p.network.layer_sizes = [n_in, *arch.widths, n_out]
        p.network.layer_activations = [MALA_ACT[a] for a in arch.activations]
        p.network.layer_activations_include_output_layer = False  # our output layer is linear
        p.running.mini_batch_size = 64
        return p

    def network(self, params):
        return self.Network(params)

    def score(self, net, loader) -> float:
        """One initialisation as in ``ObjectiveNASWOT.__call__``: Jacobian + score (k=1e-4)."""
        jac = self.jacobian(net, loader, "cpu")
        try:
            return float(self.calc_score(jac))
        except RuntimeError:  # MALA prints "Got a NaN" and uses loss = +inf
            return float("-inf")

    def mean_score(self, params, dataset, batch_size: int, n_inits: int) -> tuple[float, list[float]]:
        """Per-candidate work of MALA's NASWOT objective (T networks, one batch each)."""
        from torch.utils.data import DataLoader

        scores = []
        for _ in range(n_inits):
            net = self.network(params)
            loader = DataLoader(dataset, batch_size=batch_size, shuffle=params.running.use_shuffling_for_samplers)
            scores.append(self.score(net, loader))
        # MALA's trial value is mean(loss) + std(loss) with loss = -score: the same S'
        return mean_minus_std(scores), scores

    def load_weights(self, mala_net, our_net) -> None:
        ours = [m for m in our_net if isinstance(m, torch.nn.Linear)]
        theirs = [m for m in mala_net.layers if isinstance(m, torch.nn.Linear)]
        assert len(ours) == len(theirs)
        with torch.no_grad():
            for a, b in zip(ours, theirs):
                b.weight.copy_(a.weight)
                b.bias.copy_(a.bias)


def _try_mala() -> tuple[MalaNaswot | None, str]:
    try:
        return MalaNaswot(), ""
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- section 1


def _median_time(fn, repeats: int) -> float:
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def bench_scoring(
    *,
    n_candidates: int = 40,
    repeats: int = 3,
    n_inits: int = 5,
    batch_size: int = 64,
    n_features: int = 91,
    n_outputs: int = 70,
    k: float = MALA_K,
    threads: int = 1,
    seed: int = 0,
    with_mala: bool = True,
    verbose: bool = True,
    space: str | None = "default",
) -> dict[str, Any]:
    """Time NASWOT mean scores per candidate (ours, ours-autograd, MALA) and check agreement."""
    torch.set_num_threads(threads)
    rows, source = load_rows(n_features=n_features, seed=seed)
    n_features = rows.shape[1]
    batch_size = min(batch_size, n_features)
    rng = np.random.default_rng(seed + 1)
    batch = torch.from_numpy(rows[rng.choice(rows.shape[0], batch_size, replace=False)].copy())
    archs = search_space_sample(n_candidates, seed, space)

    mala, mala_err = _try_mala() if with_mala else (None, "disabled")
    dataset = None
    if mala is not None:
        from torch.utils.data import TensorDataset

        x_all = torch.from_numpy(rows)
        dataset = TensorDataset(x_all, torch.zeros(x_all.shape[0], n_outputs))

    # warm-up (first calls allocate / load kernels)
    naswot_mean_score(archs[0], batch, n_outputs=n_outputs, n_inits=n_inits, k=k, seed=seed)
    if mala is not None:
        mala.mean_score(mala.params(archs[0], n_features, n_outputs), dataset, batch_size, n_inits)

    per: list[dict[str, Any]] = []
    for i, arch in enumerate(archs):
        rec: dict[str, Any] = {"architecture": arch.describe(), "n_parameters": arch.n_parameters(n_features, n_outputs)}
        rec["t_ours"] = _median_time(
            lambda: naswot_mean_score(arch, batch, n_outputs=n_outputs, n_inits=n_inits, k=k, seed=seed + i), repeats)
        rec["t_ours_pool"] = _median_time(
            lambda: naswot_mean_score(arch, batch, n_outputs=n_outputs, n_inits=n_inits, k=k, seed=seed + i,
                                      weights="pool"), repeats)
        rec["t_ours_autograd"] = _median_time(
            lambda: naswot_mean_score(arch, batch, n_outputs=n_outputs, n_inits=n_inits, k=k, seed=seed + i,
                                      method="autograd"), repeats)
        s_ours, scores_ours = naswot_mean_score(arch, batch, n_outputs=n_outputs, n_inits=n_inits, k=k, seed=seed + i)
        rec["score_ours"] = s_ours
        if mala is not None:
            params = mala.params(arch, n_features, n_outputs)
            rec["t_mala"] = _median_time(lambda: mala.mean_score(params, dataset, batch_size, n_inits), repeats)
            # agreement: MALA's code on our weights, our batch, same k
            from torch.utils.data import DataLoader, TensorDataset

            ws, bs, sc = _init_stacked(arch, n_features, n_outputs, n_inits, np.random.default_rng(seed + i),
                                   torch.float32, torch.device("cpu"))
            ours_nets = stacked_to_modules(arch, ws, bs, sc)
            m32, m64 = [], []
            params.running.use_shuffling_for_samplers = False
            for net in ours_nets:
                mnet = mala.network(params)
                mala.load_weights(mnet, net)
                loader = DataLoader(TensorDataset(batch, torch.zeros(batch_size, n_outputs)), batch_size=batch_size)
                m32.append(mala.score(mnet, loader))
                loader64 = DataLoader(TensorDataset(batch.double(), torch.zeros(batch_size, n_outputs)),
                                      batch_size=batch_size)
                m64.append(mala.score(mnet.double(), loader64))
            rec["scores_ours"] = scores_ours
            rec["scores_mala_f32"] = m32
            rec["scores_mala_f64"] = m64
            rec["score_mala_f32"] = mean_minus_std(m32)
            rec["rel_diff_f32"] = float(np.max(np.abs(np.subtract(m32, scores_ours)) / np.abs(scores_ours)))
            rec["rel_diff_f64"] = float(np.max(np.abs(np.subtract(m64, scores_ours)) / np.abs(scores_ours)))
        per.append(rec)
        if verbose:
            line = f"[{i + 1:3d}/{len(archs)}] {arch.describe():55s} ours {rec['t_ours'] * 1e3:7.1f} ms"
            line += f"  pool {rec['t_ours_pool'] * 1e3:7.1f} ms  autograd {rec['t_ours_autograd'] * 1e3:7.1f} ms"
            if "t_mala" in rec:
                line += (f"  MALA {rec['t_mala'] * 1e3:7.1f} ms  x{rec['t_mala'] / rec['t_ours']:5.1f}"
                         f"  rel.diff f32 {rec['rel_diff_f32']:.1e} f64 {rec['rel_diff_f64']:.1e}")
            print(line, flush=True)

    def summary(key: str) -> dict[str, float]:
        t = np.array([r[key] for r in per])
        return {"mean_s_per_candidate": float(t.mean()), "median_s_per_candidate": float(np.median(t)),
                "candidates_per_s": float(1.0 / t.mean()), "total_s": float(t.sum())}

    out: dict[str, Any] = {
        "settings": {"n_candidates": n_candidates, "repeats": repeats, "n_inits": n_inits, "batch_size": batch_size,
                     "n_features": n_features, "n_outputs": n_outputs, "k": k, "threads": threads, "seed": seed,
                     "widths": list(WIDTHS), "activations": list(ACTS), "hidden_layers": [2, 3, 4]},
        "data": source,
        "ours": summary("t_ours"),
        "ours_pool": summary("t_ours_pool"),
        "ours_autograd": summary("t_ours_autograd"),
        "candidates": per,
    }
    if mala is not None:
        from scipy.stats import kendalltau

        out["mala"] = summary("t_mala")
        out["mala_version"] = mala.version
        ratios = np.array([r["t_mala"] / r["t_ours"] for r in per])
        out["ratio_mala_over_ours_pool"] = out["mala"]["total_s"] / out["ours_pool"]["total_s"]
        out["ratio_mala_over_ours"] = {
            "total_time": out["mala"]["total_s"] / out["ours"]["total_s"],
            "median_per_candidate": float(np.median(ratios)),
            "min_per_candidate": float(ratios.min()),
            "max_per_candidate": float(ratios.max()),
        }
        out["agreement"] = {
            "max_rel_diff_mala_f32": float(max(r["rel_diff_f32"] for r in per)),
            "median_rel_diff_mala_f32": float(np.median([r["rel_diff_f32"] for r in per])),
            "max_rel_diff_mala_f64": float(max(r["rel_diff_f64"] for r in per)),
            "kendall_tau_mean_scores_f32": float(kendalltau([r["score_ours"] for r in per],
                                                            [r["score_mala_f32"] for r in per]).statistic),
        }
    else:
        out["mala_unavailable"] = mala_err
    return out


def print_table(res: dict[str, Any]) -> None:
    s = res["settings"]
    print(f"\nNASWOT mean score, T={s['n_inits']}, B={s['batch_size']}, F={s['n_features']}, nE={s['n_outputs']}, "
          f"k={s['k']}, {s['n_candidates']} candidates, torch threads={s['threads']}")
    print(f"data: {res['data']}")
    print(f"{'implementation':16s} {'ms/candidate (mean)':>20s} {'median':>10s} {'candidates/s':>13s}")
    for key in ("ours", "ours_pool", "ours_autograd", "mala"):
        if key in res:
            r = res[key]
            print(f"{key:16s} {r['mean_s_per_candidate'] * 1e3:20.2f} {r['median_s_per_candidate'] * 1e3:10.2f} "
                  f"{r['candidates_per_s']:13.1f}")
    if "ratio_mala_over_ours" in res:
        r = res["ratio_mala_over_ours"]
        print(f"MALA / ours: {r['total_time']:.1f}x total time; per candidate median {r['median_per_candidate']:.1f}x "
              f"(min {r['min_per_candidate']:.1f}x, max {r['max_per_candidate']:.1f}x); "
              f"MALA / ours with weights='pool': {res['ratio_mala_over_ours_pool']:.1f}x total time")
        a = res["agreement"]
        print(f"agreement with MALA's code on the same weights/batch/k: max rel. diff float64 "
              f"{a['max_rel_diff_mala_f64']:.1e}, MALA native float32 {a['max_rel_diff_mala_f32']:.1e} "
              f"(median {a['median_rel_diff_mala_f32']:.1e}); Kendall tau {a['kendall_tau_mean_scores_f32']:.3f}")
    else:
        print(f"MALA unavailable: {res.get('mala_unavailable')}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--candidates", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--inits", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--outputs", type=int, default=84, help="LDOS energies (the bundled data has 84)")
    ap.add_argument("--space", default="default",
                    help="surrogate_hpo/conf/search_space/<name>.yaml to sample, or 'wide' (2-4 layers, widths to 512)")
    ap.add_argument("--tune-candidates", type=int, default=1872,
                    help="candidates for the Tune-overhead part (0 skips it)")
    ap.add_argument("--tune-chunks", nargs="+", default=["16", "auto"], help="candidates_per_trial settings")
    ap.add_argument("--k", type=float, default=MALA_K)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-mala", action="store_true")
    ap.add_argument("--out", type=Path, default=RESULTS / "naswot_speed.json")
    args = ap.parse_args(argv)

    res = {"machine": machine_info()}
    res["scoring"] = bench_scoring(n_candidates=args.candidates, repeats=args.repeats, n_inits=args.inits,
                                   batch_size=args.batch_size, n_outputs=args.outputs, k=args.k,
                                   threads=args.threads, seed=args.seed, with_mala=not args.no_mala,
                                   space=None if args.space == "wide" else args.space)
    res["machine"]["load_average_after"] = list(os.getloadavg())
    print_table(res["scoring"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.out}")
    return res


if __name__ == "__main__":
    main()
