"""Untrained networks and their losses for the scores that need modules and gradients."""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from ..model import Architecture
from .base import Score, ScoreBatch

__all__ = ["MeanOverInitialisations", "init_seeds", "loss", "networks", "tensors"]


def init_seeds(seed: int, n: int) -> list[int]:
    """``n`` independent 63-bit seeds from ``seed``."""
    return [int(s.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for s in np.random.SeedSequence(seed).spawn(n)]


def networks(architecture: Architecture, n_in: int, n_out: int, n_inits: int, seed: int,
             dtype: torch.dtype = torch.float32, device: str = "cpu") -> list[nn.Sequential]:
    """``n_inits`` initialisations (PyTorch's default init) of ``architecture``, seeded."""
    out = []
    for s in init_seeds(seed, n_inits):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(s)
            out.append(architecture.build(n_in, n_out, dtype=dtype, device=device))
    return out


def tensors(batch: ScoreBatch, device: str = "cpu", dtype: torch.dtype = torch.float32
            ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The batch's ``x`` and ``y`` as tensors."""
    x = torch.as_tensor(np.asarray(batch.x), dtype=dtype, device=device)
    y = None if batch.y is None else torch.as_tensor(np.asarray(batch.y), dtype=dtype, device=device)
    return x, y


def loss(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The training loss: mean squared error on the scaled LDOS."""
    return torch.nn.functional.mse_loss(net(x), y)


class MeanOverInitialisations(Score):
    """A score that is the mean, over ``settings.n_inits`` seeded initialisations, of one
    untrained network's value (:meth:`network_score`)."""

    #: the dtype the networks and the batch are built in
    dtype: ClassVar[torch.dtype] = torch.float32

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        x, y = tensors(batch, self.settings.device, self.dtype)
        nets = networks(architecture, x.shape[1], batch.n_outputs, self.settings.n_inits, seed,
                        dtype=self.dtype, device=self.settings.device)
        return float(np.mean([self.network_score(net, x, y) for net in nets]))

    @abc.abstractmethod
    def network_score(self, net: nn.Sequential, x: torch.Tensor, y: torch.Tensor | None) -> float:
        """The value of one initialised network ``net`` on the batch ``x`` ``(B, F)``, ``y`` ``(B, nE)``."""
