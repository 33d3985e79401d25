"""``synflow``: synaptic flow (Tanaka et al. 2020) without data: every parameter replaced by
its absolute value, an input of ones, ``R = sum of outputs``, score ``sum theta * dR/dtheta``
over the weights (float64); mean over the T initialisations."""

from __future__ import annotations

import torch
from torch import nn

from .._networks import MeanOverInitialisations

__all__ = ["Synflow"]


class Synflow(MeanOverInitialisations):
    name = "synflow"
    summary = "sum theta * dR/dtheta with |theta| and an all-ones input (no data)"

    dtype = torch.float64

    def network_score(self, net: nn.Sequential, x: torch.Tensor, y: torch.Tensor | None) -> float:
        with torch.no_grad():
            for p in net.parameters():
                p.abs_()
        weights = [p for p in net.parameters() if p.ndim == 2]
        ones = torch.ones(1, x.shape[1], dtype=self.dtype, device=x.device)
        grads = torch.autograd.grad(net(ones).sum(), weights)
        return float(sum((w.detach() * g).sum() for w, g in zip(weights, grads)))
