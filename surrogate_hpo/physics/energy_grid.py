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


def as_energy_grid(obj: "EnergyGrid | dict | np.ndarray | list") -> EnergyGrid:
    """Coerce an ``EnergyGrid``, a ``{"offset", "spacing", "n"}`` dict (eV), or the energies
    themselves (an array or list of at least 2 equally spaced values, eV) to an ``EnergyGrid``.

    Energies must be uniform to 1e-6 of the spacing (ValueError otherwise, naming the worst
    step); the old ``(offset, spacing, n)`` tuple is not accepted, as three energies and
    such a tuple cannot be told apart.
    """
    if isinstance(obj, EnergyGrid):
        return obj
    if isinstance(obj, dict):
        return EnergyGrid.from_dict(obj)
    if isinstance(obj, (np.ndarray, list, tuple)):
        e = np.asarray(obj, dtype=np.float64)
        if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)):
            raise ValueError(f"energies must be a 1-D array of at least 2 finite values (eV), got shape {e.shape}")
        steps = np.diff(e)
        spacing = float(steps.mean())
        worst = int(np.argmax(np.abs(steps - spacing)))
        if spacing <= 0 or abs(steps[worst] - spacing) > 1e-6 * abs(spacing):
            raise ValueError(f"energies are not an equally spaced ascending grid: step {worst} is "
                             f"{steps[worst]:.6g} eV, the mean step {spacing:.6g} eV (the LDOS integration "
                             "needs a uniform grid)")
        return EnergyGrid(offset=float(e[0]), spacing=spacing, n=int(e.size))
    raise TypeError(f"cannot interpret {type(obj).__name__} as an energy grid: give an EnergyGrid, "
                    "{'offset', 'spacing', 'n'} or the array of energies (eV)")
