"""The study-level config groups, typed: cluster, final evaluation, and the study itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..data.config import DataConfig
from ..errors import ConfigError
from ..model import TrainingConfig
from ..util.names import STUDY_NAME
from ..util.typed_config import parse, spec

__all__ = ["ClusterConfig", "FinalEvaluationConfig", "StudyConfig", "parse_study_config", "STUDY_NAME"]

#: a study name is a plain folder name (no path separators, no leading dot)


@dataclass
class ClusterConfig:
    """Where trials run: a private local Ray or a cluster, and what one trial holds."""

    address: str | None
    num_cpus: int | None = spec(ge=1)
    cpus_per_trial: float = spec(gt=0)
    gpus_per_trial: float = spec(ge=0)
    max_concurrent_trials: int | None = spec(ge=1)
    max_failures: int = spec(ge=0)

    def check(self) -> None:
        if self.gpus_per_trial > 1 and self.gpus_per_trial != int(self.gpus_per_trial):
            raise ConfigError(f"cluster.gpus_per_trial={self.gpus_per_trial}: above 1 a trial takes whole GPUs; "
                              "use an integer, or a fraction <= 1 to share a GPU")
        if self.num_cpus is not None and self.cpus_per_trial > self.num_cpus:
            raise ConfigError(f"cluster.cpus_per_trial={self.cpus_per_trial:g} exceeds cluster.num_cpus="
                              f"{self.num_cpus}: no trial could start")

    @property
    def is_local(self) -> bool:
        return self.address in (None, "", "local")


@dataclass
class FinalEvaluationConfig:
    """The chosen network trained ``seeds`` times; test errors over every test snapshot."""

    seeds: int = spec(ge=1)
    max_points_per_snapshot: int | None = spec(ge=1)


@dataclass
class StudyConfig:
    """One study: name, folder, seed and the typed groups; ``method`` and ``search_space``
    stay plain here and are typed by the method (``surrogate_hpo.search``)."""

    study_name: str
    output_root: str
    resume: bool | str
    seed: int = spec(ge=0, lt=2**31)
    data: DataConfig
    training: TrainingConfig
    cluster: ClusterConfig
    final_evaluation: FinalEvaluationConfig
    method: dict[str, Any]
    search_space: dict[str, Any]

    def check(self) -> None:
        if not STUDY_NAME.match(self.study_name):
            raise ConfigError(f"study_name={self.study_name!r} must be a plain folder name (letters, digits, "
                              "'_', '-', '.', '+'; no '/' and no leading '.'), e.g. study_name=al_tpe")
        if self.resume in ("", "false", "False"):
            self.resume = False
        elif self.resume in ("true", "True"):
            self.resume = True


def parse_study_config(raw: dict[str, Any]) -> StudyConfig:
    """The typed study config of the composed YAML (ConfigError naming the bad key)."""
    for group in ("data", "method", "search_space", "training", "cluster", "final_evaluation"):
        if not isinstance(raw.get(group), dict):
            raise ConfigError(f"config group '{group}' is missing; choose one, e.g. {group}=<name>")
    return parse(StudyConfig, raw, "")
