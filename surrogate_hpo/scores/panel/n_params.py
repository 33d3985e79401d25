"""``n_params``: the number of trainable parameters, the baseline every proxy paper compares with."""

from __future__ import annotations

import numpy as np

from ...model import Architecture
from ..base import Score, ScoreBatch

__all__ = ["NParams"]


class NParams(Score):
    name = "n_params"
    summary = "trainable parameters (weights and biases)"

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        return float(architecture.n_parameters(np.asarray(batch.x).shape[1], batch.n_outputs))
