"""The method contract: every search method is a :class:`Method`.

A method has a name (``method=<name>``), a typed config (the ``method`` group), and
``run(study) -> Outcome``. The experiment builds it (``__init__`` checks the config
against the search space, raising ConfigError before any data is read), gives it the
study (data, folder, Ray), and trains and summarises whatever network it returns.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Literal, TypeVar

from ..data import SnapshotSet
from ..errors import ConfigError
from ..scores import SCORES
from ..study.context import Outcome, StudyContext
from ..util.typed_config import parse, spec
from .space import SearchSpace

__all__ = ["Method", "MethodConfig", "ScoringConfig", "TrainedSearchConfig", "TpeConfig"]

C = TypeVar("C", bound="MethodConfig")

Objective = Literal["val_band_energy_mae", "val_loss"]


@dataclass
class MethodConfig:
    """Keys every method has."""

    name: str


@dataclass
class ScoringConfig(MethodConfig):
    """A training-free score of untrained networks (``conf/method/_scoring.yaml``)."""

    score: str
    n_inits: int = spec(ge=1)
    batch_size: int = spec(ge=2)
    k: float = spec(gt=0)

    def check(self) -> None:
        if self.score not in SCORES:
            raise ConfigError(f"method.score={self.score!r} is unknown; choose one of {', '.join(sorted(SCORES))}")


@dataclass
class TrainedSearchConfig(MethodConfig):
    """Searches that train their candidates (``conf/method/_training.yaml``)."""

    repeats: int = spec(ge=1)
    objective: Objective


@dataclass
class TpeConfig(TrainedSearchConfig):
    """Optuna's TPE (``conf/method/_tpe.yaml``)."""

    n_trials: int = spec(ge=1)
    n_startup_trials: int = spec(ge=0)


class Method(abc.ABC, Generic[C]):
    """A search method: typed config in, :class:`~surrogate_hpo.study.context.Outcome` out."""

    #: ``method.name``
    name: ClassVar[str]
    #: the dataclass of its ``method`` keys
    config_type: ClassVar[type]
    #: what the study prepares: scaled training rows ("training") or only the checked snapshots
    data: ClassVar[Literal["training", "snapshots"]] = "training"

    def __init__(self, config: C, space: SearchSpace) -> None:
        self.config, self.space = config, space
        self.check()

    @classmethod
    def from_dict(cls, raw: dict[str, Any], space: SearchSpace) -> "Method[C]":
        """Parse ``raw`` (the ``method`` group) and build the method (ConfigError on bad keys)."""
        return cls(parse(cls.config_type, raw, "method"), space)

    def check(self) -> None:
        """Checks of the config against the search space (ConfigError); none by default."""

    def describe(self) -> str:
        """One line for the start of the study."""
        return self.name

    def prepare(self, snapshots: SnapshotSet, seed: int) -> None:
        """Checks and set-up that need the snapshots, before Ray starts (ConfigError/DataError); none by default."""

    @abc.abstractmethod
    def run(self, study: StudyContext) -> Outcome:
        """Search; return the choice (a network and policy, or descriptor settings)."""
