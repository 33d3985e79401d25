"""Training-free scores of untrained networks: one module per score, registered by name."""

from surrogate_hpo.scores.base import Score, ScoreBatch, ScoreSettings
from surrogate_hpo.scores.naswot import (
    DEFAULT_K,
    MALA_K,
    UniformPool,
    batch_jacobian,
    correlation_matrix,
    mean_minus_std,
    naswot_mean_score,
    naswot_score,
    num_threads,
    score_from_jacobian,
    stacked_to_modules,
)
from surrogate_hpo.scores.registry import SCORES, make_score

__all__ = [
    "SCORES",
    "Score",
    "ScoreBatch",
    "ScoreSettings",
    "make_score",
    "DEFAULT_K",
    "MALA_K",
    "batch_jacobian",
    "correlation_matrix",
    "mean_minus_std",
    "naswot_mean_score",
    "naswot_score",
    "num_threads",
    "score_from_jacobian",
    "stacked_to_modules",
    "UniformPool",
]
