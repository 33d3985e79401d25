"""Trial function of the training-based searches (direct, TPE, TPE+NASWOT, OAT).

One Tune trial = one configuration (flat keys, see :mod:`.factors`), trained ``repeats``
times with seeds ``seed, seed+1, ...`` (the same seeds for every configuration, so
configurations are compared on equal terms). The objective is the validation band-energy
MAE (meV/atom), the mean over repeats; it is reported after every repeat as the running
mean, and the last report holds the final mean plus each repeat's value.

With ``naswot`` given, the trial first reports the NASWOT mean score of its network
(``naswot_score``, no training yet) so a scheduler can stop it before any training
(:class:`surrogate_hpo.search.naswot_threshold.NaswotThresholdScheduler`).

A repeat whose loss turns NaN/inf ends the trial with ``diverged=True`` and no objective
value: the searchers record it as failed and the study goes on.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ray import tune

from ..study.prepared_data import PreparedData
from .factors import candidate_of, training_of
from .space import Candidate

METRIC = "val_band_energy_mae_mev_per_atom"
#: what the searchers minimise: the mean over repeats of the quantity ``method.objective`` names
OBJECTIVE = "objective"
MODE = "min"
#: ``method.objective`` -> reported key it copies
OBJECTIVES = {"val_band_energy_mae": METRIC, "val_loss": "val_loss_mean"}


def objective_key(method_cfg: dict[str, Any]) -> str:
    """The result key ``method.objective`` selects (ValueError naming the choices)."""
    name = str(method_cfg.get("objective", "val_band_energy_mae"))
    if name not in OBJECTIVES:
        raise ValueError(f"method.objective={name!r} is unknown; choose one of {sorted(OBJECTIVES)}")
    return OBJECTIVES[name]


@dataclass(frozen=True)
class NaswotGate:
    """What a trial needs to score its network before training (TPE + NASWOT pruner)."""

    batch: np.ndarray
    n_inits: int
    k: float
    seed: int


def repeated_training_trial(config: dict[str, Any], *, data: PreparedData, training: dict[str, Any],
                            repeats: int, seed: int, threads: int = 1, default_network: Candidate | None = None,
                            naswot: NaswotGate | None = None, replay: dict[str, dict[str, Any]] | None = None,
                            objective: str = METRIC) -> None:
    """Tune trial: (optionally score, then) train the configured network ``repeats`` times.

    ``replay`` maps trial ids to results already in the study's trials table: a resumed
    study whose last save of Tune's state predates the end of such a trial (a kill in that
    window) gets the stored result back instead of training the trial again.
    """
    if replay:
        stored = replay.get(tune.get_context().get_trial_id())
        if stored is not None:
            tune.report(dict(stored))
            return
    candidate = candidate_of(config, default=default_network)
    policy = {**training, **training_of(config)}
    arch = candidate.to_dict()
    carried: dict[str, Any] = {}  # repeated in every report, so the last result holds it
    if naswot is not None:
        from ..scores import naswot_mean_score

        import torch

        torch.set_num_threads(max(1, threads))
        t0 = time.perf_counter()
        score, _ = naswot_mean_score(candidate.to_architecture(), np.array(naswot.batch), n_outputs=data.n_energies,
                                     n_inits=naswot.n_inits, k=naswot.k, seed=naswot.seed)
        # a scheduler may stop the trial at this report, before any training; the objective is
        # not known yet (NaN: Tune wants the searcher's metric in every result)
        carried = {"naswot_score": float(score), "naswot_seconds": time.perf_counter() - t0}
        tune.report({**carried, "repeats_done": 0, METRIC: math.nan, OBJECTIVE: math.nan})
    from .training_trial import train_network

    values: list[float] = []
    val_losses: list[float] = []
    epochs: list[int] = []
    t_train = 0.0
    for r in range(repeats):
        fit = train_network(arch, policy, data, seed=seed + r, threads=threads)
        t_train += fit.seconds
        epochs.append(int(fit.result.epochs_run))
        if fit.result.diverged or not math.isfinite(fit.val_band_energy_mae):
            tune.report({**carried, "diverged": True, "repeats_done": r, "diverged_repeat": r, "train_seconds": t_train,
                         "epochs_json": json.dumps(epochs), METRIC: math.nan, OBJECTIVE: math.nan})
            return
        values.append(fit.val_band_energy_mae)
        val_losses.append(float(fit.result.best_val_loss))
        means = {METRIC: float(np.mean(values)), "val_loss_mean": float(np.mean(val_losses))}
        tune.report({
            **carried,
            **means,
            OBJECTIVE: means[objective],
            "val_band_energy_mae_std": float(np.std(values)),
            "repeats_done": r + 1,
            "repeats": repeats,
            "per_repeat_json": json.dumps(values),  # text: Tune's loggers take no lists
            "epochs_json": json.dumps(epochs),
            "train_seconds": t_train,
            "diverged": False,
        })


__all__ = ["METRIC", "OBJECTIVE", "OBJECTIVES", "MODE", "NaswotGate", "objective_key", "repeated_training_trial"]
