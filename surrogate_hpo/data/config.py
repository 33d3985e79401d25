"""The ``data`` config group, typed (``conf/data/*.yaml`` holds the values)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError
from ..util.typed_config import parse, spec

__all__ = ["DataConfig", "EnergyGridOverride"]

ScalerKind = Literal["none", "standard", "minmax", "feature-wise-standard", "feature-wise-minmax"]


@dataclass
class EnergyGridOverride:
    """Energy grid of the LDOS (eV) where the sidecars lack it; ``null`` keys come from the sidecars."""

    offset: float | None = None
    spacing: float | None = spec(gt=0, default=None)
    n: int | None = spec(ge=2, default=None)

    def given(self) -> dict[str, float]:
        return {k: v for k, v in (("offset", self.offset), ("spacing", self.spacing), ("n", self.n)) if v is not None}


@dataclass
class DataConfig:
    """Which snapshots a study reads, how they are split and scaled, and how rows reach trials."""

    kind: Literal["sample", "mala_dir"]
    path: str | None
    train: list[str] | None
    validation: list[str] | None
    test: list[str] | None
    energy_grid: EnergyGridOverride | None
    temperature: float | None = spec(gt=0)
    n_electrons: float | None = spec(gt=0)
    voxel: list[list[float]] | None
    valence_charges: dict[str, float] | None
    descriptors: dict[str, Any] | None
    descriptors_contain_xyz: bool | None
    input_scaling: ScalerKind
    output_scaling: ScalerKind
    max_train_points_per_snapshot: int | None = spec(ge=1)
    streaming: Literal["auto"] | bool
    streaming_threshold_gb: float = spec(gt=0)
    shards: str | None
    shuffle_buffer: int | None = spec(ge=1)
    mix_shards: int | Literal["auto"] = spec(ge=1)
    prefetch_batches: int = spec(ge=1)

    def check(self) -> None:
        if self.kind == "mala_dir" and self.path in (None, "", "???"):
            raise ConfigError("data.path is required for data=mala_dir: add data.path=/folder/of/snapshots")
        if self.kind == "sample" and self.path not in (None, ""):
            raise ConfigError(f"data.path={self.path} is not read with data=sample (the bundled Al set); to study "
                              f"that folder choose it with: data=mala_dir data.path={self.path}")
        if self.shards and not Path(self.shards).expanduser().is_dir():
            raise ConfigError(f"data.shards={self.shards} is not a folder; write shards with "
                              "surrogate-hpo-shards source=<data.path> output=<folder>")
        if self.voxel is not None and (len(self.voxel) != 3 or any(len(r) != 3 for r in self.voxel)):
            raise ConfigError(f"data.voxel must be 3x3 (Å, one grid step per row), got {self.voxel}")

    @classmethod
    def for_folder(cls, path: str | None = None, **changes: object) -> "DataConfig":
        """The ``data`` group of ``conf/data/`` for a MALA folder (``path``) or the bundled
        sample (``path=None``), with ``changes``: the config scripts and benchmarks use."""
        from omegaconf import OmegaConf

        base = OmegaConf.to_container(OmegaConf.load(Path(__file__).resolve().parents[1] / "conf" / "data" /
                                                     "_base.yaml"))
        raw = {**base, "kind": "sample" if path is None else "mala_dir", "path": None if path is None else str(path),
               **changes}
        return parse(cls, raw, "data")

    @property
    def energy_grid_given(self) -> dict[str, float] | None:
        """The energy-grid keys set in config (None when none is)."""
        given = self.energy_grid.given() if self.energy_grid is not None else {}
        return given or None
