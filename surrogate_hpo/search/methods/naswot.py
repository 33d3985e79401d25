"""Method ``naswot``: score every architecture of the grid without training; train the best.

One Tune trial scores a range of grid candidates (``method.candidates_per_trial``) on the
study's scoring batch and reports every score at once; the table writer expands it into
one row per candidate. Few, large trials keep Tune's per-trial cost (~0.1 s) well below
the scoring time. A resumed study scores only the candidates missing from
``naswot_trials.parquet``. The fixed policy of ``training`` trains the chosen network.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from ray import tune

from ...errors import ConfigError
from ...model import Architecture, resolve_device
from ...scores.agreement import rank_agreement
from ...study.background_plots import draw_later
from ...study.context import Outcome, StudyContext
from ...study.plots import plot_naswot_scores
from ...study.progress import ProgressPrinter
from ...study.ray_runtime import trial_gpu_ids
from ...study.score_table import ScoreTable
from ...study.training_trial import train_network
from ...study.trials_table import OK, TableWriter, TrialsTable, compute_of_rows
from ...study.tune_stage import concurrent_slots, run_stage
from ...util.chunks import chunk_bounds
from ...util.typed_config import spec
from ..base import Method, ScoringConfig
from ..scoring import Scoring, make_scoring
from ..space import SearchSpace

__all__ = ["Naswot", "NaswotConfig", "candidates_per_trial", "score_range", "scoring_trial"]

STAGE = "naswot"
#: most candidates one trial scores (a few seconds), so progress lines keep coming
MAX_PER_TRIAL = 2000


@dataclass
class NaswotConfig(ScoringConfig):
    name: Literal["naswot", "naswot_optimized"]
    direction: Literal["max", "min"]
    candidates_per_trial: int | Literal["auto"]
    device: Literal["auto", "cpu", "cuda"]
    validate: int = spec(ge=0)
    validate_epochs: int = spec(ge=1)

    def check(self) -> None:
        ScoringConfig.check(self)
        if self.validate == 1 or self.validate == 2:
            raise ConfigError(f"method.validate={self.validate}: the trust check needs at least 3 networks (or 0: off)")


def score_range(space: SearchSpace, scoring: Scoring, start: int, stop: int) -> list[dict[str, Any]]:
    """Scores of grid candidates ``start .. stop-1`` (no Tune): one dict per candidate."""
    rows = []
    for index in range(start, stop):
        value, seconds = scoring(space.candidate(index), index)
        rows.append({"candidate_id": index, "score": value, "seconds": seconds})
    return rows


def scoring_trial(config: dict[str, Any], *, space: SearchSpace, scoring: Scoring, threads: int,
                  device: str = "auto") -> None:
    """Tune trial: score the candidates of ``config['ranges']`` (``[[start, stop], ...]``);
    ``device="auto"``: the trial's GPU when Ray gave it one, else the CPU."""
    import torch


    torch.set_num_threads(max(1, threads))
    dev = resolve_device(device)
    scoring = scoring.on(str(dev))
    started_at, t0 = time.time(), time.perf_counter()
    rows = [r for a, b in config["ranges"] for r in score_range(space, scoring, int(a), int(b))]
    tune.report({
        "candidates_json": json.dumps(rows),  # a string: Tune's loggers take no nested lists
        "n_candidates": len(rows),
        "scoring_seconds": time.perf_counter() - t0,
        "started_at": started_at,  # unix seconds: lets benchmarks split Tune's overhead
        "finished_at": time.time(),
        "device": str(dev),
        "gpu_ids": ",".join(trial_gpu_ids()),
    })


def _scored(result: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(result.get("candidates_json") or "[]")


def _rows_of(space: SearchSpace, n_in: int, n_out: int):
    def rows_of(trial: Any) -> list[dict[str, Any]]:
        rows = []
        for r in _scored(trial.last_result or {}):
            c = space.candidate(int(r["candidate_id"]))
            finite = math.isfinite(float(r["score"]))
            rows.append({"candidate_id": int(r["candidate_id"]), "n_layers": c.n_hidden, "widths": list(c.widths),
                         "activations": list(c.activations), "architecture": c.describe(),
                         "n_parameters": c.n_parameters(n_in, n_out), "score": r["score"] if finite else None,
                         "seconds": r["seconds"], "trial_id": trial.trial_id, "status": OK if finite else "error"})
        if not rows and trial.status == "ERROR":
            rows.append({"candidate_id": -int(time.time() * 1000), "trial_id": trial.trial_id, "status": "error",
                         "error": str(getattr(trial, "error_file", ""))})
        return rows

    return rows_of


def candidates_per_trial(setting: int | str, n_candidates: int, slots: int) -> int:
    """Chunk size: an int as given, or ``auto``: one trial per concurrent trial slot, at most
    :data:`MAX_PER_TRIAL` candidates each (a score costs ~1.5 ms, a Tune trial ~0.1-0.3 s)."""
    if setting != "auto":
        return max(1, int(setting))
    return max(1, min(MAX_PER_TRIAL, -(-n_candidates // max(1, slots))))


def _missing_ranges(todo: list[int], size: int) -> list[list[list[int]]]:
    """Consecutive runs of the indices in ``todo``, packed into trials of at most ``size`` candidates."""
    trials: list[list[list[int]]] = []
    current: list[list[int]] = []
    count = 0
    runs: list[list[int]] = []
    for i in todo:
        if runs and runs[-1][1] == i:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    for a, b in runs:
        for lo, hi in chunk_bounds(b - a, size):
            lo, hi = a + lo, a + hi
            while lo < hi:
                take = min(hi - lo, size - count)
                current.append([lo, lo + take])
                count += take
                lo += take
                if count == size:
                    trials.append(current)
                    current, count = [], 0
    if current:
        trials.append(current)
    return trials


def score_grid(study: StudyContext, config: NaswotConfig) -> tuple[Architecture, dict[str, Any], dict[str, float]]:
    """Score every candidate of the grid not yet in the table; ``(best, details, compute)``."""
    data = study.require_data()
    space = study.space
    scoring = make_scoring(config, data, study.seed, first_widths=list(space.widths))
    table = ScoreTable(study.study_dir, STAGE, space.n_candidates, metric="score", mode=config.direction)
    n_scored = int(table.scored.sum())
    todo = np.flatnonzero(~table.scored).tolist()
    size = candidates_per_trial(config.candidates_per_trial, len(todo), concurrent_slots(study.cluster))
    trials = _missing_ranges(todo, size)
    del todo
    progress = ProgressPrinter(
        STAGE, len(trials), unit="candidates", total_items=space.n_candidates, mode=config.direction,
        count_of=lambda r: int(r.get("n_candidates", 0)), already=0,
        best_of=lambda r: _best_in(r, space, config.direction),
    )
    progress.items = n_scored
    print(f"[naswot] scoring {space.n_candidates - n_scored} of {space.n_candidates} architectures in {len(trials)} "
          f"trials with {scoring.describe()}" + (f" ({n_scored} already scored)" if n_scored else ""), flush=True)
    t0 = time.perf_counter()
    if trials:
        trainable = tune.with_parameters(scoring_trial, space=space, scoring=scoring, device=config.device,
                                         threads=max(1, int(study.cluster.cpus_per_trial)))
        run_stage(trainable, stage=STAGE, storage=study.tune_dir(), cluster=study.cluster,
                  param_space={"ranges": tune.grid_search(trials)},
                  callbacks=[TableWriter(table, _rows_of(space, data.n_features, data.n_energies)), progress])
    wall = time.perf_counter() - t0
    table.finish()
    best = table.best()
    if best is None:
        raise RuntimeError(f"no candidate was scored; see {study.tune_dir() / STAGE}")
    chosen = space.candidate(int(best["candidate_id"]))
    plot = draw_later(plot_naswot_scores, study.study_dir / "naswot_scores.png",
                      table.columns(["candidate_id", "n_layers", "n_parameters", "score", "status"]),
                      chosen_id=int(best["candidate_id"]))
    scored = table.columns(["seconds", "status"])
    details = {
        "n_candidates": space.n_candidates,
        "n_scored": int(table.scored.sum()),
        "score": config.score,
        "scoring": scoring.describe(),
        "best_score": float(best["score"]),
        "search_wall_seconds": wall,
        "scoring_seconds": float(scored.loc[scored["status"] == OK, "seconds"].sum()),
        "trials_csv": str(table.csv_path),
        "plot": str(plot),
    }
    return chosen, details, table.compute(study.cluster.cpus_per_trial, study.cluster.gpus_per_trial)


def _best_in(result: dict[str, Any], space: SearchSpace, direction: str) -> tuple[float, str] | None:
    rows = [r for r in _scored(result) if math.isfinite(float(r["score"]))]
    if not rows:
        return None
    r = (max if direction == "max" else min)(rows, key=lambda r: r["score"])
    return float(r["score"]), space.candidate(int(r["candidate_id"])).describe()


def check_trial(config: dict[str, Any], *, space: SearchSpace, data: Any, policy: Any, seed: int,
                threads: int) -> None:
    """Tune trial of the trust check: train grid candidate ``config['candidate_id']`` briefly."""
    fit = train_network(space.candidate(int(config["candidate_id"])), policy, data, seed=seed, threads=threads)
    tune.report({"val_loss": float(fit.result.best_val_loss), "epochs": int(fit.result.epochs_run),
                 "diverged": bool(fit.result.diverged)})


def trust_check(study: StudyContext, config: NaswotConfig) -> tuple[dict[str, Any], list[str], dict[str, float]]:
    """Train ``method.validate`` networks spread over the score ranking for ``validate_epochs``
    epochs; Kendall tau between score and validation loss. ``(details, warnings, compute)``."""
    scores = ScoreTable(study.study_dir, STAGE, study.space.n_candidates).columns(["candidate_id", "score", "status"])
    scores = scores[(scores["status"] == OK) & np.isfinite(scores["score"].astype(float))]
    ranked = scores.sort_values("score", ascending=config.direction != "max").to_dict("records")
    n = min(config.validate, len(ranked))
    picks = {int(ranked[round(i * (len(ranked) - 1) / (n - 1))]["candidate_id"]): float(ranked[round(
        i * (len(ranked) - 1) / (n - 1))]["score"]) for i in range(n)}
    table = TrialsTable(study.study_dir, "validate", key=("candidate_id",), metric="val_loss", mode="min")
    done = {int(r["candidate_id"]) for r in table.rows}
    todo = [c for c in picks if c not in done]
    policy = dataclasses.replace(study.training, max_epochs=config.validate_epochs)
    print(f"[validate] trust check: {len(picks)} networks across the {config.score} ranking, {config.validate_epochs} "
          f"epochs each", flush=True)
    if todo:
        def rows_of(trial: Any) -> list[dict[str, Any]]:
            r = trial.last_result or {}
            if "val_loss" not in r:
                return []
            cid = int(trial.config["candidate_id"])
            return [{"candidate_id": cid, "architecture": study.space.candidate(cid).describe(), "score": picks[cid],
                     "val_loss": r["val_loss"], "epochs": r["epochs"], "diverged": r["diverged"],
                     "trial_id": trial.trial_id, "status": "diverged" if r["diverged"] else OK}]

        progress = ProgressPrinter("validate", len(picks), unit="trainings", mode="min", min_interval_s=0.0,
                                   already=len(picks) - len(todo), best_of=lambda r: None)
        trainable = tune.with_parameters(check_trial, space=study.space, data=study.require_data(), policy=policy,
                                         seed=study.seed, threads=max(1, int(study.cluster.cpus_per_trial)))
        run_stage(trainable, stage="validate", storage=study.tune_dir(), cluster=study.cluster,
                  param_space={"candidate_id": tune.grid_search(todo)},
                  callbacks=[TableWriter(table, rows_of), progress])
    rows = [r for r in table.rows if int(r["candidate_id"]) in picks]
    agreement = rank_agreement(np.array([picks[int(r["candidate_id"])] for r in rows]),
                               np.array([float(r["val_loss"]) for r in rows]))
    details = {"validate_n": agreement.n, "validate_tau": agreement.tau,
               "validate_interval": [agreement.low, agreement.high], "validate_epochs": config.validate_epochs,
               "validate": agreement.describe()}
    warnings = []
    if not agreement.trustworthy:
        warnings.append(f"trust check: {config.score}'s ranking vs the validation loss after {config.validate_epochs} "
                        f"epochs: {agreement.describe()}; the interval includes zero, so on this data the score's "
                        "choice cannot be told apart from chance (train candidates, e.g. method=naswot_optimized or "
                        "method=tpe, or try another method.score)")
    print(f"[validate] {config.score} vs validation loss: {agreement.describe()}", flush=True)
    compute = compute_of_rows(table.rows, study.cluster.cpus_per_trial, study.cluster.gpus_per_trial)
    return details, warnings, compute


class Naswot(Method[NaswotConfig]):
    name = "naswot"
    config_type = NaswotConfig

    def describe(self) -> str:
        check = f", trust check on {self.config.validate} trained networks" if self.config.validate else ""
        return f"{self.config.score} over {self.space.n_candidates} architectures, no training{check}"

    def run(self, study: StudyContext) -> Outcome:
        chosen, details, compute = score_grid(study, self.config)
        warnings: list[str] = []
        if self.config.validate:
            more, warnings, spent = trust_check(study, self.config)
            details.update(more)
            compute = {k: compute.get(k, 0.0) + spent.get(k, 0.0) for k in ("cpu_seconds", "gpu_seconds")}
        return Outcome(architecture=chosen, training={}, objective=details["best_score"], details=details,
                       compute=compute, warnings=warnings)
