"""Trial function of the training-based searches (direct, TPE, TPE+NASWOT, OAT).

One Tune trial = one configuration (flat keys, see :mod:`.factors`), trained ``repeats``
times with seeds ``seed, seed+1, ...`` (the same seeds for every configuration, so
configurations are compared on equal terms). The objective is the mean over repeats of
the quantity ``method.objective`` names; it is reported after every repeat as the running
mean, and the last report holds the final mean plus each repeat's value.

With ``scoring`` given, the trial first reports the training-free score of its network
(``naswot_score``, no training yet) so a scheduler can stop it before any training
(:class:`~surrogate_hpo.search.tune.NaswotThresholdScheduler`).

A repeat whose loss turns NaN/inf ends the trial with ``diverged=True`` and no objective
value: the searchers record it as failed and the study goes on.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from ray import tune

from ..data.prepared import PreparedData
from ..model import Architecture, TrainingConfig
from ..study.training_trial import policy_with, train_network
from .factors import candidate_of, training_of
from .scoring import Scoring
from .space import SearchSpace

__all__ = ["METRIC", "MODE", "OBJECTIVE", "OBJECTIVES", "repeated_training_trial"]

METRIC = "val_band_energy_mae_mev_per_atom"
#: what the searchers minimise: the mean over repeats of the quantity ``method.objective`` names
OBJECTIVE = "objective"
MODE = "min"
#: ``method.objective`` -> reported key it copies
OBJECTIVES = {"val_band_energy_mae": METRIC, "val_loss": "val_loss_mean"}


def repeated_training_trial(config: dict[str, Any], *, data: PreparedData, policy: TrainingConfig, repeats: int,
                            seed: int, objective: str, threads: int = 1, default_network: Architecture | None = None,
                            scoring: Scoring | None = None, space: SearchSpace | None = None) -> None:
    """Tune trial: (optionally score, then) train the configured network ``repeats`` times."""
    candidate = candidate_of(config, default=default_network)
    trial_policy = policy_with(policy, training_of(config))
    carried: dict[str, Any] = {}  # repeated in every report, so the last result holds it
    if scoring is not None and space is not None:
        import torch

        torch.set_num_threads(max(1, threads))
        score, seconds = scoring(candidate, space.index_of(candidate))
        # a scheduler may stop the trial at this report, before any training; the objective is
        # not known yet (NaN: Tune wants the searcher's metric in every result)
        carried = {"naswot_score": score, "naswot_seconds": seconds}
        tune.report({**carried, "repeats_done": 0, METRIC: math.nan, OBJECTIVE: math.nan})
    values: list[float] = []
    val_losses: list[float] = []
    epochs: list[int] = []
    t_train = 0.0
    for r in range(repeats):
        fit = train_network(candidate, trial_policy, data, seed=seed + r, threads=threads)
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
