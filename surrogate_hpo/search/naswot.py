"""Method ``naswot``: score every architecture of the grid without training (Tune trial fn).

Design for low Tune overhead: one Tune trial scores a *chunk* of candidates
(``method.candidates_per_trial``) on the same NASWOT batch and reports every score at once;
the results writer expands a chunk into one row per candidate. With actor reuse this keeps
Tune's per-trial cost (~0.1 s here) well below the scoring time of a chunk.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np
from ray import tune

from ..search.space import Candidate, chunk_bounds
from ..study.context import MethodOutcome, StudyContext
from ..study.progress import ProgressPrinter
from ..study.results import ResultsWriter
from ..study.tune_run import compute_spent, run_tune_stage

STAGE = "naswot"


def score_candidates(
    candidates: list[Candidate],
    batch: np.ndarray,
    *,
    n_outputs: int,
    n_inits: int,
    k: float,
    seed: int,
) -> list[dict[str, Any]]:
    """NASWOT mean score of each candidate (torch only, no Tune): one dict per candidate.

    Candidate ``i`` of the grid is initialised with seeds derived from ``seed`` and its
    grid index, so scores do not depend on how the grid is chunked.
    """
    from ..scores import naswot_mean_score

    out = []
    for cid, cand in candidates:
        t0 = time.perf_counter()
        score, per_init = naswot_mean_score(cand.to_architecture(), batch, n_outputs=n_outputs, n_inits=n_inits, k=k,
                                            seed=seed * 1_000_003 + cid)
        out.append(
            {
                "candidate_id": cid,
                "score": float(score),
                "score_mean": float(np.mean(per_init)),
                "score_std": float(np.std(per_init)),
                "scores_per_init": [float(s) for s in per_init],
                "seconds": time.perf_counter() - t0,
            }
        )
    return out


def naswot_trial(config: dict[str, Any], *, candidates: list[Candidate], batch: np.ndarray, n_outputs: int,
                 n_inits: int, k: float, seed: int, threads: int, device: str = "auto") -> None:
    """Tune trial: score the candidates ``[config['start'], config['stop'])``.

    ``device="auto"``: the trial's GPU when Ray gave it one (``cluster.gpus_per_trial > 0``;
    Ray sets ``CUDA_VISIBLE_DEVICES``), else the CPU.
    """
    import torch

    from ..model import resolve_device
    from ..study.resources import trial_gpu_ids

    torch.set_num_threads(max(1, threads))
    dev = resolve_device(device)
    start, stop = int(config["chunk"]["start"]), int(config["chunk"]["stop"])
    started_at = time.time()
    t0 = time.perf_counter()
    rows = score_candidates(
        [(i, candidates[i]) for i in range(start, stop)],
        torch.as_tensor(np.array(batch), device=dev),  # object-store arrays are read-only
        n_outputs=n_outputs, n_inits=n_inits, k=k, seed=seed,
    )
    tune.report(
        {
            "candidates_json": json.dumps(rows),  # a string: Tune's loggers take no nested lists
            "best_score": max(r["score"] for r in rows),
            "n_candidates": len(rows),
            "scoring_seconds": time.perf_counter() - t0,
            "started_at": started_at,  # unix seconds: lets benchmarks split Tune's overhead
            "finished_at": time.time(),
            "device": str(dev),
            "gpu_ids": ",".join(trial_gpu_ids()),  # the GPUs Ray assigned to the trial
        }
    )


def _rows_of(candidates: list[Candidate], n_in: int, n_out: int):
    def rows_of(trial: Any) -> list[dict[str, Any]]:
        result = trial.last_result or {}
        rows = []
        for r in _candidates_of(result):
            c = candidates[int(r["candidate_id"])]
            rows.append(
                {
                    "candidate_id": int(r["candidate_id"]),
                    "n_layers": c.n_layers,
                    "widths": list(c.widths),
                    "activations": list(c.activations),
                    "architecture": c.describe(),
                    "n_parameters": c.to_architecture().n_parameters(n_in, n_out),
                    "score": r["score"],
                    "score_mean": r["score_mean"],
                    "score_std": r["score_std"],
                    "scores_per_init": r["scores_per_init"],
                    "seconds": r["seconds"],
                    "trial_id": trial.trial_id,
                    "status": "ok",
                }
            )
        if not rows and trial.status == "ERROR":
            rows.append({"trial_id": trial.trial_id, "status": "error", "error": str(getattr(trial, "error_file", ""))})
        return rows

    return rows_of


def candidates_per_trial(setting: Any, n_candidates: int, cluster: dict[str, Any],
                         max_per_trial: int = 2000) -> int:
    """Chunk size: an int as given, or ``"auto"``: one trial per concurrent trial slot of the
    running Ray cluster, at most ``max_per_trial`` candidates (a few seconds of scoring) each.

    A Tune stage costs seconds of fixed start-up and ~0.1-0.3 s per trial, while a score
    costs ~1.5 ms (benchmarks/naswot_tune_overhead.py), so few, large trials are fastest;
    the cap keeps progress lines coming on large grids.
    """
    if setting not in (None, "auto"):
        return max(1, int(setting))
    import ray

    cpus = float(ray.cluster_resources().get("CPU", 1.0)) if ray.is_initialized() else 1.0
    slots = max(1, int(cpus // max(float(cluster.get("cpus_per_trial", 1)), 1e-9)))
    if cluster.get("max_concurrent_trials"):
        slots = min(slots, int(cluster["max_concurrent_trials"]))
    return max(1, min(max_per_trial, -(-n_candidates // slots)))


def _candidates_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-candidate rows a NASWOT trial reported."""
    return json.loads(result.get("candidates_json") or "[]")


def run(ctx: StudyContext, *, candidates: list[Candidate] | None = None) -> MethodOutcome:
    """Score the whole architecture grid (or ``candidates``), pick the best, keep the fixed
    training policy."""
    m = ctx.method_cfg
    candidates = ctx.space.candidates() if candidates is None else candidates
    n_in, n_out = ctx.data.n_features, ctx.data.n_energies
    batch_size = int(m.get("batch_size", 64))
    if batch_size > n_in:
        print(f"[naswot] method.batch_size={batch_size} > {n_in} descriptors: using {n_in} (DESIGN.md §5)")
        batch_size = n_in
    batch = ctx.data.naswot_batch(batch_size, ctx.seed)
    bounds = chunk_bounds(len(candidates), candidates_per_trial(m.get("candidates_per_trial", "auto"),
                                                                len(candidates), ctx.cluster_cfg))
    direction = str(m.get("direction", "max"))
    writer = ResultsWriter(ctx.study_dir, STAGE, _rows_of(candidates, n_in, n_out), metric="score",
                           mode=direction, key=("candidate_id",))
    progress = ProgressPrinter(
        STAGE, len(bounds), unit="candidates", total_items=len(candidates), mode=direction,
        count_of=lambda r: int(r.get("n_candidates", 0)),
        best_of=lambda r: _best_in(r, candidates, direction),
    )
    print(f"[naswot] scoring {len(candidates)} architectures in {len(bounds)} trials "
          f"(T={m.get('n_inits', 5)} inits, batch {batch_size}, k={m.get('k', 1e-5)})", flush=True)
    t0, stage_start = time.perf_counter(), time.time()
    trainable = tune.with_parameters(
        naswot_trial, candidates=candidates, batch=batch, n_outputs=n_out,
        n_inits=int(m.get("n_inits", 5)), k=float(m.get("k", 1e-5)), seed=ctx.seed,
        threads=int(ctx.cluster_cfg.get("cpus_per_trial", 1)), device=str(m.get("device", "auto")),
    )
    results = run_tune_stage(
        trainable, name=STAGE, storage=ctx.tune_dir(), cluster=ctx.cluster_cfg, resume=ctx.resume,
        param_space={"chunk": tune.grid_search([{"start": a, "stop": b} for a, b in bounds])},
        callbacks=[writer, progress],
    )
    wall, stage_end = time.perf_counter() - t0, time.time()
    spans = sorted((r.metrics.get("started_at"), r.metrics.get("finished_at")) for r in results
                   if r.metrics and r.metrics.get("started_at"))
    best = writer.best_row()
    if best is None:
        raise RuntimeError(f"no NASWOT candidate was scored; see {ctx.tune_dir() / STAGE}")
    chosen = candidates[int(best["candidate_id"])]
    from ..study.plots import plot_naswot_scores

    plot = plot_naswot_scores(writer.frame(), ctx.study_dir / "naswot_scores.png", chosen_id=int(best["candidate_id"]))
    scoring = float(sum(float(r.get("seconds", 0.0)) for r in writer.rows if r.get("status") == "ok"))
    compute = compute_spent(results, ctx.cluster_cfg)
    return MethodOutcome(
        chosen=chosen,
        training=dict(ctx.cfg["training"]),
        details={
            "n_candidates": len(candidates),
            "n_scored": sum(1 for r in writer.rows if r.get("status") == "ok"),
            "best_score": float(best["score"]),
            "search_wall_seconds": wall,
            "first_trial_start_seconds": spans[0][0] - stage_start if spans else None,
            "after_last_trial_seconds": stage_end - max(e for _, e in spans) if spans else None,
            "scoring_seconds": scoring,
            "trials_csv": str(writer.csv_path),
            "plot": str(plot),
        },
        compute=compute,
    )


def _best_in(result: dict[str, Any], candidates: list[Candidate], direction: str) -> tuple[float, str] | None:
    rows = _candidates_of(result)
    if not rows:
        return None
    pick = max if direction == "max" else min
    r = pick(rows, key=lambda r: r["score"])
    return float(r["score"]), candidates[int(r["candidate_id"])].describe()
