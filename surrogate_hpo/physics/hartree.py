"""Hartree energy and potential of a periodic electron density by FFT (eV, Å)."""

from __future__ import annotations

import numpy as np

from .constants import BOHR, E2
from .grid import cell_volume, g_squared


def _coulomb_kernel(cell: np.ndarray, shape: tuple[int, int, int], ecutrho_ry: float | None) -> np.ndarray:
    """``4 pi e^2 / G^2`` (eV Å) with G = 0 (and G beyond the cutoff, if any) set to 0."""
    g2 = g_squared(cell, shape)
    kernel = np.zeros_like(g2)
    keep = g2 > 1e-12 * np.max(g2)
    if ecutrho_ry is not None:
        keep &= g2 <= float(ecutrho_ry) / BOHR**2  # E[Ry] = (G bohr)^2
    kernel[keep] = 4.0 * np.pi * E2 / g2[keep]
    return kernel


def hartree_potential(
    density: np.ndarray, cell: np.ndarray, *, ecutrho_ry: float | None = None
) -> np.ndarray:
    """``v_H(r) = e^2 \\int n(r') / |r - r'| dr'`` (eV) of a periodic density (1/Å^3)
    sampled on the full grid spanning ``cell`` (rows, Å). The G = 0 term is dropped
    (neutralising background). ``ecutrho_ry`` optionally keeps only G with
    ``(G bohr)^2 <= ecutrho`` as Quantum ESPRESSO does."""
    density = np.asarray(density, dtype=np.float64)
    kernel = _coulomb_kernel(cell, density.shape, ecutrho_ry)
    return np.fft.ifftn(np.fft.fftn(density) * kernel).real


def hartree_energy(
    density: np.ndarray, cell: np.ndarray, *, ecutrho_ry: float | None = None
) -> float:
    """``E_H = 1/2 \\int n v_H = 2 pi e^2 Omega sum_{G != 0} |n(G)|^2 / G^2`` (eV), with
    ``n(G) = (1/N) sum_r n(r) e^{-iGr}``; density in 1/Å^3 on the full periodic grid."""
    density = np.asarray(density, dtype=np.float64)
    kernel = _coulomb_kernel(cell, density.shape, ecutrho_ry)
    n_g = np.fft.fftn(density) / density.size
    return 0.5 * cell_volume(cell) * float(np.sum(kernel * np.abs(n_g) ** 2))
