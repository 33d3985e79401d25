"""The one place a study's training-free scoring is set up: score, batch, seeds.

Every method that scores untrained networks (``naswot``, ``naswot_optimized``,
``tpe_naswot``) builds a :class:`Scoring` here, so a network gets the same score in each:
the same batch (``method.batch_size`` training rows drawn with the study seed), the same
settings and the same initialisation seed (the study seed and the network's index in the
architecture grid).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..data.prepared import PreparedData
from ..model import Architecture
from ..scores import SCORES, ScoreBatch, ScoreSettings, make_score
from .base import ScoringConfig

__all__ = ["Scoring", "init_seed", "make_scoring"]

#: rows of training and validation data a score that trains briefly gets (``short_training``)
TRAINING_ROWS = 4096


def init_seed(study_seed: int, index: int) -> int:
    """Initialisation seed of grid candidate ``index`` (independent of how the grid is chunked)."""
    return study_seed * 1_000_003 + index


@dataclass(frozen=True)
class Scoring:
    """A score with its settings and batch (picklable: it travels to the trials)."""

    score_name: str
    settings: ScoreSettings
    batch: ScoreBatch
    study_seed: int

    def __call__(self, architecture: Architecture, index: int) -> tuple[float, float]:
        """``(score, seconds)`` of grid candidate ``index``."""
        score = make_score(self.score_name, self.settings)
        t0 = time.perf_counter()
        value = score(architecture, self.batch, seed=init_seed(self.study_seed, index))
        return float(value), time.perf_counter() - t0

    def on(self, device: str) -> "Scoring":
        """The same scoring computed on ``device``."""
        return dataclasses.replace(self, settings=dataclasses.replace(self.settings, device=device))

    def describe(self) -> str:
        return (f"{self.score_name} (T={self.settings.n_inits} inits, batch {self.batch.x.shape[0]} points, "
                f"k={self.settings.k:g})")


#: scores whose Jacobian correlation matrix holds every one of the B eigenvalues (the rank trap applies)
RANK_TRAP_SCORES = ("naswot", "naswot_mean", "jacob_cov")


def rank_trap(score: str, batch_size: int, first_widths: list[int]) -> str | None:
    """The warning for a batch larger than some first hidden layer (None when none is)."""
    narrow = sorted({w for w in first_widths if w < batch_size})
    if score not in RANK_TRAP_SCORES or not narrow:
        return None
    return (f"method.batch_size={batch_size} is larger than the first hidden layer of the networks with width "
            f"{narrow}: their Jacobian rows span at most that many dimensions, so {score} gives each of them at "
            f"least {batch_size - narrow[-1]} zero eigenvalues (~1/k each) and mostly ranks them by the first "
            "layer's width. On our Al ground truth that ranking still tracked the trained error "
            f"(benchmarks/RESULTS.md); method.score=naswot_nonnull or method.batch_size={narrow[0]} removes it")


def make_scoring(config: ScoringConfig, data: PreparedData, seed: int,
                 log: Callable[[str], None] = print, first_widths: list[int] | None = None) -> Scoring:
    """The study's scoring: ``method.batch_size`` rows, at most F (the correlation matrix of
    NASWOT has rank <= F; a larger batch only adds zero eigenvalues); said when clipped."""
    make_score(config.score, ScoreSettings())  # unknown name -> ConfigError now
    size = config.batch_size
    warning = rank_trap(config.score, min(size, data.n_features), list(first_widths or []))
    if warning:
        log(f"[scoring] warning: {warning}")
    if size > data.n_features:
        log(f"[scoring] method.batch_size={size} > {data.n_features} descriptors: using {data.n_features} points "
            "(the Jacobian correlation matrix has rank <= F)")
        size = data.n_features
    x, y = data.score_rows(size, seed)
    train = validation = None
    if SCORES[config.score].uses_training_rows:  # a score that trains briefly gets row samples
        rng = np.random.default_rng([seed, 1])
        ti = np.sort(rng.choice(data.train_x.shape[0], size=min(TRAINING_ROWS, data.train_x.shape[0]), replace=False))
        vi = np.sort(rng.choice(data.val_x.shape[0], size=min(TRAINING_ROWS, data.val_x.shape[0]), replace=False))
        train = (np.ascontiguousarray(data.train_x[ti]), np.ascontiguousarray(data.train_y[ti]))
        validation = (np.ascontiguousarray(data.val_x[vi]), np.ascontiguousarray(data.val_y[vi]))
    return Scoring(config.score, ScoreSettings(n_inits=config.n_inits, k=config.k),
                   ScoreBatch(x=x, y=y, n_outputs=data.n_energies, train=train, validation=validation), seed)
