"""``synflow``: synaptic flow (Tanaka et al. 2020) without data: every parameter replaced by
its absolute value, an input of ones, ``R = sum of outputs``, score ``sum theta * dR/dtheta``
over the weights (float64); mean over the T initialisations."""

from __future__ import annotations

import numpy as np
import torch

from ...model import Architecture
from .._networks import networks
from ..base import Score, ScoreBatch

__all__ = ["Synflow"]


class Synflow(Score):
    name = "synflow"
    summary = "sum theta * dR/dtheta with |theta| and an all-ones input (no data)"

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        f = np.asarray(batch.x).shape[1]
        ones = torch.ones(1, f, dtype=torch.float64, device=self.settings.device)
        out = []
        for net in networks(architecture, f, batch.n_outputs, self.settings.n_inits, seed, dtype=torch.float64,
                            device=self.settings.device):
            with torch.no_grad():
                for p in net.parameters():
                    p.abs_()
            weights = [p for p in net.parameters() if p.ndim == 2]
            grads = torch.autograd.grad(net(ones).sum(), weights)
            out.append(float(sum((w.detach() * g).sum() for w, g in zip(weights, grads))))
        return float(np.mean(out))
