"""``short_training``: the cheap-but-not-free baseline: minus the validation loss after one
epoch of training (Adam, learning rate 1e-3, batches of 64) on a sample of the training rows
(``batch.train``, up to 4096 rows), measured on up to 4096 validation rows. One
initialisation; it costs tens of milliseconds per candidate, not one."""

from __future__ import annotations

import torch

from ...model import Architecture
from .._networks import networks
from ..base import Score, ScoreBatch

__all__ = ["ShortTraining"]

ROWS = 4096
BATCH = 64


class ShortTraining(Score):
    name = "short_training"
    summary = "minus the validation loss after one epoch on 4096 training rows (a trained baseline)"
    uses_targets = True
    uses_training_rows = True

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        if batch.train is None or batch.validation is None:
            raise ValueError("short_training needs training and validation rows (ScoreBatch.train/.validation)")
        dev = self.settings.device
        tx, ty = (torch.as_tensor(a[:ROWS], dtype=torch.float32, device=dev) for a in batch.train)
        vx, vy = (torch.as_tensor(a[:ROWS], dtype=torch.float32, device=dev) for a in batch.validation)
        (net,) = networks(architecture, tx.shape[1], batch.n_outputs, 1, seed, device=dev)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        order = torch.randperm(tx.shape[0], generator=torch.Generator().manual_seed(seed % 2**63))
        for start in range(0, tx.shape[0], BATCH):
            idx = order[start:start + BATCH]
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(tx[idx]), ty[idx]).backward()
            opt.step()
        with torch.no_grad():
            return -float(torch.nn.functional.mse_loss(net(vx), vy))
