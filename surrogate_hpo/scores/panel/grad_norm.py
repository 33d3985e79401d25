"""``grad_norm``: the sum over layers of the L2 norm of the loss gradient of the untrained
network (Abdelfattah et al. 2021), the loss being the MSE on the scaled LDOS of the batch;
mean over the T initialisations."""

from __future__ import annotations

import torch
from torch import nn

from .._networks import MeanOverInitialisations, loss

__all__ = ["GradNorm"]


class GradNorm(MeanOverInitialisations):
    name = "grad_norm"
    summary = "sum over layers of ||dL/dW||_2 at initialisation (MSE loss)"
    uses_targets = True

    def network_score(self, net: nn.Sequential, x: torch.Tensor, y: torch.Tensor | None) -> float:
        grads = torch.autograd.grad(loss(net, x, y), [p for p in net.parameters() if p.ndim == 2])
        return float(sum(torch.linalg.vector_norm(g) for g in grads))
