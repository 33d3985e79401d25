"""``zico``: zero-shot inverse coefficient of variation of gradients (Li et al. 2023).

The batch is cut into 4 mini-batches; for every weight ``w`` the loss gradient on each of
them gives ``mean|g| / std(g)`` across the mini-batches; per layer the sum over its weights
(those with ``std > 0``), the score the sum over layers of the log of it. MSE loss on the
scaled LDOS; mean over the T initialisations.
"""

from __future__ import annotations

import torch
from torch import nn

from .._networks import MeanOverInitialisations, loss

__all__ = ["Zico"]

N_SPLITS = 4


class Zico(MeanOverInitialisations):
    name = "zico"
    summary = "sum over layers of log sum_w mean|g| / std(g) across mini-batches (MSE loss)"
    uses_targets = True

    def network_score(self, net: nn.Sequential, x: torch.Tensor, y: torch.Tensor | None) -> float:
        weights = [p for p in net.parameters() if p.ndim == 2]
        parts = zip(torch.tensor_split(x, N_SPLITS), torch.tensor_split(y, N_SPLITS))
        per = [torch.stack(g) for g in zip(*(torch.autograd.grad(loss(net, xb, yb), weights) for xb, yb in parts))]
        total = 0.0
        for g in per:
            std = g.std(dim=0, unbiased=False)
            ok = std > 0
            ratio = (g.abs().mean(dim=0)[ok] / std[ok]).sum()
            total += float(torch.log(ratio)) if ratio > 0 else 0.0
        return total
