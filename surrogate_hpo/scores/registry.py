"""Training-free scores by the names configs use (``method.score=<name>``)."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Score, ScoreSettings
from .panel.fisher import Fisher
from .panel.flops import Flops
from .panel.grad_norm import GradNorm
from .panel.n_params import NParams
from .panel.naswot import JacobCov, Naswot, NaswotMean, NaswotNonnull
from .panel.naswot_relu import NaswotRelu
from .panel.short_training import ShortTraining
from .panel.snip import Snip
from .panel.synflow import Synflow
from .panel.zico import Zico

__all__ = ["SCORES", "make_score"]

#: name -> score class; every registered score runs with ``surrogate-hpo method=naswot method.score=<name>``
SCORES: dict[str, type[Score]] = {cls.name: cls for cls in (
    Naswot, NaswotMean, NaswotNonnull, JacobCov, NaswotRelu, GradNorm, Snip, Synflow, Fisher, Zico, NParams, Flops,
    ShortTraining)}


def make_score(name: str, settings: ScoreSettings) -> Score:
    """The score ``name`` (ConfigError listing the known names otherwise)."""
    if name not in SCORES:
        raise ConfigError(f"method.score={name!r} is unknown; choose one of {', '.join(sorted(SCORES))}")
    return SCORES[name](settings)
