"""``fisher``: the Fisher-information saliency of the hidden units (Turner et al. 2020, as a
zero-cost proxy in Abdelfattah et al. 2021): for every hidden unit ``u``,
``0.5 * mean_b (a_bu * dL/da_bu)^2`` with ``a`` the unit's activation; summed over units and
layers; MSE loss on the scaled LDOS; mean over the T initialisations."""

from __future__ import annotations

import torch
from torch import nn

from .._networks import MeanOverInitialisations

__all__ = ["Fisher"]


class Fisher(MeanOverInitialisations):
    name = "fisher"
    summary = "sum over hidden units of 0.5 * mean_b (a * dL/da)^2 at initialisation (MSE loss)"
    uses_targets = True

    def network_score(self, net: nn.Sequential, x: torch.Tensor, y: torch.Tensor | None) -> float:
        acts = []
        h = x
        layers = list(net)
        for i, m in enumerate(layers):
            h = m(h)
            if i + 1 < len(layers) and not isinstance(m, nn.Linear):
                acts.append(h)  # a hidden layer's activation
        grads = torch.autograd.grad(torch.nn.functional.mse_loss(h, y), acts)
        return float(sum((0.5 * (a.detach() * g).pow(2).mean(dim=0)).sum() for a, g in zip(acts, grads)))
