"""Density of states and electron density from an LDOS (eV, Å)."""

from __future__ import annotations

import numpy as np

from .energy_grid import EnergyGrid, as_energy_grid
from .integration import occupation_weights

_CHUNK_ROWS = 65536  # grid points per chunk when casting float32 LDOS to float64


def _rows(ldos: np.ndarray) -> np.ndarray:
    ldos = np.asarray(ldos)
    if ldos.ndim < 1:
        raise ValueError("ldos needs a trailing energy axis")
    return ldos.reshape(-1, ldos.shape[-1])


def dos_from_ldos(ldos: np.ndarray, voxel_volume: float) -> np.ndarray:
    """DOS ``D(E_i) = sum_r LDOS(r, E_i) V_voxel`` in 1/eV, shape ``(nE,)``, float64.

    ``ldos``: ``(..., nE)`` in 1/(eV Å^3) (any float dtype, may be a memmap);
    ``voxel_volume``: Å^3. Accumulates in float64.
    """
    rows = _rows(ldos)
    total = np.zeros(rows.shape[1], dtype=np.float64)
    for start in range(0, rows.shape[0], _CHUNK_ROWS):
        total += np.sum(rows[start : start + _CHUNK_ROWS], axis=0, dtype=np.float64)
    return total * float(voxel_volume)


def apply_weights(ldos: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_i ldos[..., i] w_i`` in float64, shape ``ldos.shape[:-1]`` (chunked matvec)."""
    ldos = np.asarray(ldos)
    weights = np.asarray(weights, dtype=np.float64)
    if ldos.shape[-1] != weights.shape[0]:
        raise ValueError(f"ldos has {ldos.shape[-1]} energies, weights {weights.shape[0]}")
    rows = _rows(ldos)
    out = np.empty(rows.shape[0], dtype=np.float64)
    for start in range(0, rows.shape[0], _CHUNK_ROWS):
        out[start : start + _CHUNK_ROWS] = rows[start : start + _CHUNK_ROWS].astype(np.float64) @ weights
    return out.reshape(ldos.shape[:-1])


def density_from_ldos(
    ldos: np.ndarray,
    energy_grid: EnergyGrid | dict,
    fermi_energy: float,
    temperature: float,
    *,
    broadening_variance: float = 0.0,
) -> np.ndarray:
    """Electron density ``n(r) = \\int LDOS(r, E) f(E) dE`` in 1/Å^3, shape ``ldos.shape[:-1]``.

    Exact for the piecewise-linear (hat) LDOS, see ``integration`` (also for
    ``broadening_variance``, eV^2).
    """
    grid = as_energy_grid(energy_grid)
    w = occupation_weights(grid, fermi_energy, temperature, broadening_variance=broadening_variance)
    return apply_weights(ldos, w)
