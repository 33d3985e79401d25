"""Training-free scores of untrained networks (NASWOT; room for others)."""

from surrogate_hpo.scores.naswot import (
    DEFAULT_K,
    MALA_K,
    batch_jacobian,
    correlation_matrix,
    mean_minus_std,
    naswot_mean_score,
    naswot_score,
    num_threads,
    score_from_jacobian,
    UniformPool,
    stacked_to_modules,
)

__all__ = [
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
