"""What a search method gets from the study harness, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import SnapshotSet
from ..data.prepared import PreparedData
from ..model import Architecture, TrainingConfig
from .config import ClusterConfig, StudyConfig

__all__ = ["Outcome", "StudyContext"]


@dataclass
class StudyContext:
    """Everything a method needs: the typed config, the data, where to write, resume state.

    ``snapshots`` is the checked snapshot set (every method); ``data`` the scaled training
    rows (methods that train or score networks; None for descriptor methods).
    ``method`` and ``space`` are the method's typed config and the parsed search space.
    """

    config: StudyConfig
    study_dir: Path
    snapshots: SnapshotSet
    data: PreparedData | None
    method: Any
    space: Any
    resume: bool = False

    @property
    def cluster(self) -> ClusterConfig:
        return self.config.cluster

    @property
    def training(self) -> TrainingConfig:
        """The fixed training policy (``training`` group) where a method does not search it."""
        return self.config.training

    @property
    def seed(self) -> int:
        return self.config.seed

    def tune_dir(self) -> Path:
        """Parent of Tune's experiment folders (logs and error files of the trials)."""
        return (self.study_dir / "tune").resolve()

    def require_data(self) -> PreparedData:
        if self.data is None:
            raise RuntimeError("this method needs the scaled training rows, which the study did not prepare")
        return self.data


@dataclass
class Outcome:
    """A method's answer, what the study trains and summarises next.

    A network method sets ``architecture`` and ``training`` (the policy, TrainingConfig
    keys); a descriptor method sets ``descriptors`` (bispectrum settings). ``compute``
    holds ``cpu_seconds`` and ``gpu_seconds`` summed over the method's trials;
    ``details`` what the summary prints (short values) and keeps (paths, tables).
    """

    architecture: Architecture | None = None
    training: dict[str, Any] | None = None
    descriptors: dict[str, Any] | None = None
    objective: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    compute: dict[str, float] = field(default_factory=dict)
    #: what the user must know about the choice (printed and kept in the summary)
    warnings: list[str] = field(default_factory=list)
