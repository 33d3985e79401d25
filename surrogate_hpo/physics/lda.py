"""Perdew-Zunger (1981) LDA exchange-correlation, unpolarised ('SLA PZ' as in QE).

Internally Hartree atomic units, exactly QE's ``slater`` and ``pz`` routines; the public
functions take densities in 1/Å^3 and return eV.
"""

from __future__ import annotations

import numpy as np

from .constants import BOHR, HARTREE

# QE XClib constants (Hartree units)
_SLATER_F = -0.687247939924714  # -9/8 (3/(2 pi))^(2/3)
_SLATER_ALPHA = 2.0 / 3.0
_PZ_A, _PZ_B, _PZ_C, _PZ_D = 0.0311, -0.048, 0.0020, -0.0116
_PZ_GC, _PZ_B1, _PZ_B2 = -0.1423, 1.0529, 0.3334
VANISHING_CHARGE = 1e-10
"""Densities below this (1/bohr^3) give no exchange-correlation, as in QE."""


def slater_exchange(rs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slater exchange ``(eps_x, v_x)`` in Hartree for Wigner-Seitz radii ``rs`` (bohr)."""
    rs = np.asarray(rs, dtype=np.float64)
    ex = _SLATER_F * _SLATER_ALPHA / rs
    return ex, 4.0 / 3.0 * ex


def pz_correlation(rs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Perdew-Zunger correlation ``(eps_c, v_c)`` in Hartree for ``rs`` (bohr)."""
    rs = np.asarray(rs, dtype=np.float64)
    ec = np.empty_like(rs)
    vc = np.empty_like(rs)
    hi = rs >= 1.0
    lo = ~hi
    if np.any(lo):
        r = rs[lo]
        lnrs = np.log(r)
        ec[lo] = _PZ_A * lnrs + _PZ_B + _PZ_C * r * lnrs + _PZ_D * r
        vc[lo] = (
            _PZ_A * lnrs
            + (_PZ_B - _PZ_A / 3.0)
            + 2.0 / 3.0 * _PZ_C * r * lnrs
            + (2.0 * _PZ_D - _PZ_C) / 3.0 * r
        )
    if np.any(hi):
        r = rs[hi]
        rsq = np.sqrt(r)
        ox = 1.0 + _PZ_B1 * rsq + _PZ_B2 * r
        dox = 1.0 + 7.0 / 6.0 * _PZ_B1 * rsq + 4.0 / 3.0 * _PZ_B2 * r
        ec[hi] = _PZ_GC / ox
        vc[hi] = ec[hi] * dox / ox
    return ec, vc


def wigner_seitz_radius(density: np.ndarray) -> np.ndarray:
    """``rs = (3 / (4 pi n))^(1/3)`` in bohr for a density in 1/Å^3 (uses |n|)."""
    n_bohr = np.abs(np.asarray(density, dtype=np.float64)) * BOHR**3
    with np.errstate(divide="ignore"):
        return np.cbrt(3.0 / (4.0 * np.pi * n_bohr))


def lda_pz(density: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(eps_xc, v_xc)`` in eV for a density in 1/Å^3 (per electron / potential).

    Zero where ``|n| < 1e-10 bohr^-3`` (QE's vanishing charge); elsewhere evaluated at
    ``|n|`` (a slightly negative density, as from a predicted LDOS, is handled like QE).
    """
    density = np.asarray(density, dtype=np.float64)
    eps = np.zeros_like(density)
    v = np.zeros_like(density)
    ok = np.abs(density) * BOHR**3 > VANISHING_CHARGE
    if np.any(ok):
        rs = wigner_seitz_radius(density[ok])
        ex, vx = slater_exchange(rs)
        ec, vc = pz_correlation(rs)
        eps[ok] = (ex + ec) * HARTREE
        v[ok] = (vx + vc) * HARTREE
    return eps, v


def xc_energy(density: np.ndarray, voxel_volume: float) -> tuple[float, float]:
    """``(E_xc, \\int v_xc n)`` in eV: ``E_xc = \\int eps_xc(n) n dr`` on the grid
    (density 1/Å^3, voxel volume Å^3)."""
    density = np.asarray(density, dtype=np.float64)
    eps, v = lda_pz(density)
    return (
        float(np.sum(eps * density)) * float(voxel_volume),
        float(np.sum(v * density)) * float(voxel_volume),
    )
