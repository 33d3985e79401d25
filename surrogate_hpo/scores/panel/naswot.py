"""``naswot``: the NASWOT mean score of the paper (eq. 13/14) and MALA, ``mean - std`` over T inits."""

from __future__ import annotations

import torch

from ...model import Architecture
from ..base import Score, ScoreBatch
from ..naswot import naswot_mean_score

__all__ = ["Naswot"]


class Naswot(Score):
    name = "naswot"
    summary = "NASWOT mean score (Fiedler et al. 2022 eq. 13/14): Jacobian correlations, mean - std over inits"

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        x = torch.as_tensor(batch.x, device=self.settings.device)
        score, _ = naswot_mean_score(architecture, x, n_outputs=batch.n_outputs, n_inits=self.settings.n_inits,
                                     k=self.settings.k, seed=seed, on_large_batch="raise")
        return float(score)
