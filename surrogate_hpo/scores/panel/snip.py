"""``snip``: connection sensitivity ``sum |theta * dL/dtheta|`` over the weights of the
untrained network (Lee et al. 2019, as a zero-cost proxy in Abdelfattah et al. 2021); MSE
loss on the scaled LDOS; mean over the T initialisations."""

from __future__ import annotations

import numpy as np
import torch

from ...model import Architecture
from .._networks import loss, networks, tensors
from ..base import Score, ScoreBatch

__all__ = ["Snip"]


class Snip(Score):
    name = "snip"
    summary = "sum |W * dL/dW| at initialisation (MSE loss)"
    uses_targets = True

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        x, y = tensors(batch, self.settings.device)
        out = []
        for net in networks(architecture, x.shape[1], batch.n_outputs, self.settings.n_inits, seed,
                            device=self.settings.device):
            weights = [p for p in net.parameters() if p.ndim == 2]
            grads = torch.autograd.grad(loss(net, x, y), weights)
            out.append(float(sum((w.detach() * g).abs().sum() for w, g in zip(weights, grads))))
        return float(np.mean(out))
