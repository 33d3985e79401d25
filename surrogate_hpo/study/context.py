"""What a search method gets from the experiment, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..search.space import Candidate, SearchSpace
from .prepared_data import PreparedData


@dataclass
class StudyContext:
    """Everything a method needs: config (plain dicts), data, search space, where to write."""

    cfg: dict[str, Any]
    study_dir: Path
    data: PreparedData
    space: SearchSpace
    resume: bool = False

    @property
    def method_cfg(self) -> dict[str, Any]:
        return self.cfg["method"]

    @property
    def cluster_cfg(self) -> dict[str, Any]:
        return self.cfg["cluster"]

    @property
    def seed(self) -> int:
        return int(self.cfg.get("seed", 0))

    def tune_dir(self) -> Path:
        """Parent of Tune's experiment directories (kept so a study can be resumed)."""
        return (self.study_dir / "tune").resolve()


@dataclass
class MethodOutcome:
    """A search method's answer: the chosen network and training policy, plus bookkeeping.

    ``compute`` holds ``cpu_seconds`` and ``gpu_seconds`` summed over the method's trials.
    """

    chosen: Candidate
    training: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)
    compute: dict[str, float] = field(default_factory=dict)
