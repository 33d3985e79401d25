"""``grad_norm``: the sum over layers of the L2 norm of the loss gradient of the untrained
network (Abdelfattah et al. 2021), the loss being the MSE on the scaled LDOS of the batch;
mean over the T initialisations."""

from __future__ import annotations

import numpy as np
import torch

from ...model import Architecture
from .._networks import loss, networks, tensors
from ..base import Score, ScoreBatch

__all__ = ["GradNorm"]


class GradNorm(Score):
    name = "grad_norm"
    summary = "sum over layers of ||dL/dW||_2 at initialisation (MSE loss)"
    uses_targets = True

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        x, y = tensors(batch, self.settings.device)
        out = []
        for net in networks(architecture, x.shape[1], batch.n_outputs, self.settings.n_inits, seed,
                            device=self.settings.device):
            grads = torch.autograd.grad(loss(net, x, y), [p for p in net.parameters() if p.ndim == 2])
            out.append(float(sum(torch.linalg.vector_norm(g) for g in grads)))
        return float(np.mean(out))
