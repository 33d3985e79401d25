"""``naswot_relu``: Mellor et al.'s kernel of binary activation codes (NASWOT v2).

For each point, the code ``c`` is the sign pattern of every hidden unit's pre-activation
(ReLU's on/off; for other activations the same sign, as the generalisation to non-ReLU
networks). ``K_ij = N_units - Hamming(c_i, c_j)``; the score is ``ln det K`` (with a
ridge of ``1e-6 N_units`` so that coinciding codes give a finite, very low value), mean
over the T initialisations. Higher: the network separates the points into more distinct
linear regions.
"""

from __future__ import annotations

import torch
from torch import nn

from .._networks import MeanOverInitialisations

__all__ = ["NaswotRelu", "activation_codes"]


def activation_codes(net: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """``(B, N_units)`` 0/1 codes: the sign of every hidden pre-activation."""
    codes = []
    h = x
    layers = list(net)
    with torch.no_grad():
        for i, m in enumerate(layers):
            h = m(h)
            if isinstance(m, nn.Linear) and i + 1 < len(layers) and not isinstance(layers[i + 1], nn.Linear):
                codes.append((h > 0).to(torch.float64))
    return torch.cat(codes, dim=1)


class NaswotRelu(MeanOverInitialisations):
    name = "naswot_relu"
    summary = "NASWOT v2 (Mellor et al.): log det of the Hamming kernel of activation sign codes"

    def network_score(self, net: nn.Sequential, x: torch.Tensor, y: torch.Tensor | None) -> float:
        c = activation_codes(net, x)
        n = c.shape[1]
        k = c @ c.T + (1 - c) @ (1 - c).T
        k += 1e-6 * n * torch.eye(k.shape[0], dtype=k.dtype, device=k.device)
        return float(torch.linalg.slogdet(k)[1])
