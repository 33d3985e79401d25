"""Electron count and the self-consistent Fermi level of a DOS (eV, K)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from .energy_grid import EnergyGrid, as_energy_grid
from .fermi import thermal_energy
from .integration import occupation_weights

FERMI_XTOL = 1e-10
"""Absolute tolerance of the Fermi-level root (eV)."""


def number_of_electrons(
    dos: np.ndarray,
    energy_grid: EnergyGrid | dict,
    fermi_energy: float,
    temperature: float,
    *,
    broadening_variance: float = 0.0,
) -> float:
    """``N = \\int D(E) f(E; E_F, T) dE`` for a DOS ``(nE,)`` in 1/eV (exact, hat convention;
    ``broadening_variance`` in eV^2, see ``integration_weights``)."""
    grid = as_energy_grid(energy_grid)
    dos = np.asarray(dos, dtype=np.float64)
    w = occupation_weights(grid, fermi_energy, temperature, broadening_variance=broadening_variance)
    return float(dos @ w)


def fermi_energy_from_dos(
    dos: np.ndarray,
    energy_grid: EnergyGrid | dict,
    temperature: float,
    n_electrons: float,
    *,
    xtol: float = FERMI_XTOL,
    broadening_variance: float = 0.0,
) -> float:
    """Fermi level (eV): the root of ``N(E_F) = n_electrons``.

    The bracket spans the whole support of the DOS (one spacing beyond the grid) plus
    40 ``k_B T`` on either side, so it always contains the root when one exists; Brent's
    method then converges to ``xtol`` (default 1e-10 eV). Raises ``ValueError`` when the
    DOS holds fewer than ``n_electrons`` electrons in total (or none can be bracketed,
    e.g. for a DOS that is negative somewhere). ``broadening_variance`` (eV^2): see
    ``integration_weights`` (N(E_F) may then be non-monotonic near sharp peaks; Brent
    still returns a root inside the bracket).
    """
    grid = as_energy_grid(energy_grid)
    dos = np.asarray(dos, dtype=np.float64)
    if dos.shape != (grid.n,):
        raise ValueError(f"dos must have shape ({grid.n},), got {dos.shape}")
    n_electrons = float(n_electrons)
    pad = grid.spacing + 40.0 * thermal_energy(temperature) + 1e-6
    lo, hi = grid.offset - pad, grid.end + pad

    def excess(mu: float) -> float:
        w = occupation_weights(grid, mu, temperature, broadening_variance=broadening_variance)
        return float(dos @ w) - n_electrons

    f_lo, f_hi = excess(lo), excess(hi)
    if not (f_lo <= 0.0 <= f_hi):
        raise ValueError(
            f"cannot bracket the Fermi level: the DOS holds {f_lo + n_electrons:.6g} electrons "
            f"at E_F={lo:.4g} eV and {f_hi + n_electrons:.6g} at E_F={hi:.4g} eV, "
            f"but n_electrons={n_electrons:.6g}"
        )
    if f_lo == 0.0:
        return lo
    if f_hi == 0.0:
        return hi
    return float(brentq(excess, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps, maxiter=500))
