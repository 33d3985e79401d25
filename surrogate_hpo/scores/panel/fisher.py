"""``fisher``: the Fisher-information saliency of the hidden units (Turner et al. 2020, as a
zero-cost proxy in Abdelfattah et al. 2021): for every hidden unit ``u``,
``0.5 * mean_b (a_bu * dL/da_bu)^2`` with ``a`` the unit's activation; summed over units and
layers; MSE loss on the scaled LDOS; mean over the T initialisations."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...model import Architecture
from .._networks import networks, tensors
from ..base import Score, ScoreBatch

__all__ = ["Fisher"]


class Fisher(Score):
    name = "fisher"
    summary = "sum over hidden units of 0.5 * mean_b (a * dL/da)^2 at initialisation (MSE loss)"
    uses_targets = True

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        x, y = tensors(batch, self.settings.device)
        out = []
        for net in networks(architecture, x.shape[1], batch.n_outputs, self.settings.n_inits, seed,
                            device=self.settings.device):
            acts = []
            h = x
            layers = list(net)
            for i, m in enumerate(layers):
                h = m(h)
                if i + 1 < len(layers) and not isinstance(m, nn.Linear):
                    acts.append(h)  # a hidden layer's activation
            grads = torch.autograd.grad(torch.nn.functional.mse_loss(h, y), acts)
            out.append(float(sum((0.5 * (a.detach() * g).pow(2).mean(dim=0)).sum() for a, g in zip(acts, grads))))
        return float(np.mean(out))
