"""How well a score ranks: Kendall's tau with a bootstrap interval (scipy's ``kendalltau``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RankAgreement", "rank_agreement"]


@dataclass(frozen=True)
class RankAgreement:
    """Kendall tau between a score and an error, its 95 % bootstrap interval and its size.

    A score that ranks networks well has ``tau < 0`` against an error (higher score,
    lower error); ``trustworthy`` when the whole interval lies below zero.
    """

    tau: float
    low: float
    high: float
    n: int

    @property
    def trustworthy(self) -> bool:
        return self.high < 0

    def describe(self) -> str:
        return f"Kendall tau {self.tau:+.2f} [95 %: {self.low:+.2f}, {self.high:+.2f}] over {self.n} networks"


def rank_agreement(score: np.ndarray, error: np.ndarray, *, reps: int = 2000, seed: int = 0) -> RankAgreement:
    """Kendall tau of ``score`` against ``error`` with a percentile bootstrap (pairs resampled)."""
    from scipy.stats import kendalltau

    s, e = np.asarray(score, dtype=float), np.asarray(error, dtype=float)
    ok = np.isfinite(s) & np.isfinite(e)
    s, e = s[ok], e[ok]
    if len(s) < 3:
        return RankAgreement(float("nan"), float("nan"), float("nan"), int(len(s)))
    tau = float(kendalltau(s, e).statistic)
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(reps):
        i = rng.integers(0, len(s), len(s))
        if np.ptp(s[i]) > 0 and np.ptp(e[i]) > 0:
            boot.append(kendalltau(s[i], e[i]).statistic)
    low, high = (np.percentile(boot, [2.5, 97.5]) if boot else (float("nan"), float("nan")))
    return RankAgreement(tau, float(low), float(high), int(len(s)))
