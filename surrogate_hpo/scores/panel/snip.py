"""``snip``: connection sensitivity ``sum |theta * dL/dtheta|`` over the weights of the
untrained network (Lee et al. 2019, as a zero-cost proxy in Abdelfattah et al. 2021); MSE
loss on the scaled LDOS; mean over the T initialisations."""

from __future__ import annotations

import torch
from torch import nn

from .._networks import MeanOverInitialisations, loss

__all__ = ["Snip"]


class Snip(MeanOverInitialisations):
    name = "snip"
    summary = "sum |W * dL/dW| at initialisation (MSE loss)"
    uses_targets = True

    def network_score(self, net: nn.Sequential, x: torch.Tensor, y: torch.Tensor | None) -> float:
        weights = [p for p in net.parameters() if p.ndim == 2]
        grads = torch.autograd.grad(loss(net, x, y), weights)
        return float(sum((w.detach() * g).abs().sum() for w, g in zip(weights, grads)))
