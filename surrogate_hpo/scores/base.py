"""The interface of a training-free score: an architecture and a batch in, one float out."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..model import Architecture

__all__ = ["Score", "ScoreBatch", "ScoreSettings"]


@dataclass(frozen=True)
class ScoreBatch:
    """The points a score looks at: ``x`` scaled descriptors ``(B, F)``; ``y`` the scaled
    LDOS of the same points ``(B, nE)`` (for scores that need a loss); ``n_outputs`` = nE;
    ``train`` and ``validation``: ``(x, y)`` row samples for the scores that train briefly."""

    x: np.ndarray
    y: np.ndarray | None
    n_outputs: int
    train: tuple[np.ndarray, np.ndarray] | None = None
    validation: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class ScoreSettings:
    """What every score may use: ``n_inits`` initialisations, NASWOT's regulariser ``k``,
    the torch ``device`` it computes on."""

    n_inits: int = 5
    k: float = 1e-5
    device: str = "cpu"


class Score(abc.ABC):
    """A training-free score of an untrained network; higher is better."""

    #: the name configs use (``method.score=<name>``)
    name: ClassVar[str]
    #: one line for tables and ``--help``
    summary: ClassVar[str] = ""
    #: True when the score needs ``batch.y`` (a loss)
    uses_targets: ClassVar[bool] = False
    #: True when the score trains (needs ``batch.train`` and ``batch.validation``)
    uses_training_rows: ClassVar[bool] = False

    def __init__(self, settings: ScoreSettings) -> None:
        self.settings = settings

    @abc.abstractmethod
    def __call__(self, architecture: Architecture, batch: ScoreBatch, *, seed: int) -> float:
        """The score of ``architecture`` (initialised from ``seed``) on ``batch``."""
