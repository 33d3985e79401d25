"""The LDOS energy grid: ``E_i = offset + i * spacing`` (eV)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EnergyGrid:
    """Uniform energy grid of an LDOS.

    Attributes:
        offset: energy of the first grid value (eV).
        spacing: distance between grid values (eV), > 0.
        n: number of grid values.
    """

    offset: float
    spacing: float
    n: int

    def __post_init__(self) -> None:
        if not self.spacing > 0:
            raise ValueError(f"energy grid spacing must be > 0 eV, got {self.spacing}")
        if int(self.n) != self.n or self.n < 2:
            raise ValueError(f"energy grid needs at least 2 values, got n={self.n}")

    @property
    def values(self) -> np.ndarray:
        """Grid energies (eV), shape ``(n,)``, float64."""
        return self.offset + self.spacing * np.arange(self.n, dtype=np.float64)

    @property
    def end(self) -> float:
        """Energy of the last grid value (eV)."""
        return self.offset + self.spacing * (self.n - 1)

    def to_dict(self) -> dict[str, float | int]:
        return {"offset": float(self.offset), "spacing": float(self.spacing), "n": int(self.n)}

    @classmethod
    def from_dict(cls, d: dict) -> "EnergyGrid":
        return cls(offset=float(d["offset"]), spacing=float(d["spacing"]), n=int(d["n"]))


def as_energy_grid(obj: "EnergyGrid | dict | tuple") -> EnergyGrid:
    """Coerce an ``EnergyGrid``, a ``{"offset", "spacing", "n"}`` dict or an
    ``(offset, spacing, n)`` tuple to an ``EnergyGrid``."""
    if isinstance(obj, EnergyGrid):
        return obj
    if isinstance(obj, dict):
        return EnergyGrid.from_dict(obj)
    if isinstance(obj, (tuple, list)) and len(obj) == 3:
        return EnergyGrid(offset=float(obj[0]), spacing=float(obj[1]), n=int(obj[2]))
    raise TypeError(f"cannot interpret {type(obj).__name__} as an EnergyGrid")
