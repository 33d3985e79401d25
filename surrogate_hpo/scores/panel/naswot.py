"""The NASWOT family: scores from the eigenvalues of the Jacobian correlation matrix.

``C = corrcoef(J)`` for a batch of B points, ``J_i = d(sum of outputs)/dx_i``;
``f(lam) = ln(lam + k) + 1/(lam + k)``.

* ``naswot``: the paper's and MALA's score, ``S = -sum_i f(lam_i)`` over all B eigenvalues,
  ``mean - std`` over T initialisations.
* ``naswot_mean``: the same ``S``, mean over the initialisations only.
* ``jacob_cov``: ``S`` of one initialisation (Abdelfattah et al.'s zero-cost proxy).
* ``naswot_nonnull``: the rank trap removed. The rows ``J_i`` lie in the row space of the
  first weight matrix and centring removes the constant direction, so ``C`` has at most
  ``r = min(B, F - 1, w1)`` non-zero eigenvalues whatever the network does; the other
  ``B - r`` each cost ``~1/k`` and only count ``w1``. This score keeps the ``r`` largest
  eigenvalues, rescales them to mean 1 (their sum is ``B``), and averages ``-f`` over them:
  decorrelation inside the subspace the network can reach, comparable across widths.
"""

from __future__ import annotations

import numpy as np
import torch

from ...model import Architecture
from ..base import Score, ScoreBatch
from ..naswot import (
    architecture_jacobians,
    correlation_matrix,
    mean_minus_std,
    naswot_mean_score,
)

__all__ = ["JacobCov", "Naswot", "NaswotMean", "NaswotNonnull", "eigenvalues"]


def eigenvalues(architecture: Architecture, batch: ScoreBatch, n_inits: int, seed: int,
                device: str = "cpu") -> np.ndarray:
    """Eigenvalues ``(T, B)`` (ascending, float64) of C for ``n_inits`` initialisations."""
    x = torch.as_tensor(np.asarray(batch.x), dtype=torch.float32, device=device)
    jac = architecture_jacobians(architecture, x, batch.n_outputs, n_inits, np.random.default_rng(int(seed)))
    return torch.linalg.eigvalsh(correlation_matrix(jac)).cpu().numpy()


def _paper(lam: np.ndarray, k: float) -> np.ndarray:
    lk = lam + k
    return -(np.log(lk) + 1.0 / lk).sum(axis=-1)


class Naswot(Score):
    name = "naswot"
    summary = "NASWOT mean score (Fiedler et al. 2022 eq. 13/14; MALA): mean - std over T inits"

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        x = torch.as_tensor(np.asarray(batch.x), device=self.settings.device)
        score, _ = naswot_mean_score(architecture, x, n_outputs=batch.n_outputs, n_inits=self.settings.n_inits,
                                     k=self.settings.k, seed=seed, on_large_batch="raise")
        return float(score)


class NaswotMean(Score):
    name = "naswot_mean"
    summary = "NASWOT score, mean over T inits (no - std)"

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        lam = eigenvalues(architecture, batch, self.settings.n_inits, seed, self.settings.device)
        return float(_paper(lam, self.settings.k).mean())


class JacobCov(Score):
    name = "jacob_cov"
    summary = "Jacobian covariance score of one initialisation (Mellor et al. v1, Abdelfattah et al.)"

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        lam = eigenvalues(architecture, batch, 1, seed, self.settings.device)
        return float(_paper(lam, self.settings.k)[0])


class NaswotNonnull(Score):
    name = "naswot_nonnull"
    summary = "NASWOT over the r = min(B, F-1, w1) reachable eigenvalues, rescaled to mean 1, per eigenvalue"

    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        lam = eigenvalues(architecture, batch, self.settings.n_inits, seed, self.settings.device)
        b, f = np.asarray(batch.x).shape
        r = max(1, min(b, f - 1, int(architecture.widths[0])))
        top = lam[:, -r:]
        top = top * (r / np.maximum(top.sum(axis=1, keepdims=True), 1e-300))
        return float(np.mean(_paper(top, self.settings.k) / r))


def naswot_mean_minus_std(scores: np.ndarray) -> float:
    return mean_minus_std(scores.tolist())
