"""``flops``: multiply-accumulates of one forward pass for one grid point (a cost baseline)."""

from __future__ import annotations

import numpy as np

from ...model import Architecture
from ..base import Score, ScoreBatch

__all__ = ["Flops", "macs_per_point"]


def macs_per_point(architecture: Architecture, n_in: int, n_out: int) -> int:
    dims = [n_in, *architecture.widths, n_out]
    return int(sum(a * b for a, b in zip(dims[:-1], dims[1:])))


class Flops(Score):
    name = "flops"
    summary = "multiply-accumulates per grid point"

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        return float(macs_per_point(architecture, np.asarray(batch.x).shape[1], batch.n_outputs))
