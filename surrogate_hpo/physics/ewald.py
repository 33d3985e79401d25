"""Ewald energy of point ions in a uniform neutralising background (eV, Å).

Same convention as Quantum ESPRESSO's "ewald contribution": the ion-ion energy of the
point valence charges ``Z_i`` in a compensating uniform background of charge
``-sum Z_i``, i.e.

    E = e^2/2 sum'_{i,j,R} Z_i Z_j erfc(sqrt(a) r)/r
        + (2 pi e^2 / Omega) sum_{G != 0} |S(G)|^2 exp(-G^2 / 4a) / G^2
        - e^2 sqrt(a / pi) sum_i Z_i^2
        - e^2 pi (sum_i Z_i)^2 / (2 Omega a),

independent of the splitting parameter ``a`` (Å^-2). The last term is QE's G = 0 term
(``-charge**2 / alpha / 4`` in ewald.f90).
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfc

from .constants import E2
from .grid import cell_volume, reciprocal_cell

_EXPONENT = 36.0  # erfc(6) ~ 2e-17 and exp(-36) ~ 2e-16: both sums truncated there


def _lattice_points(vectors: np.ndarray, radius: float) -> np.ndarray:
    """Integer combinations ``m @ vectors`` with norm <= radius (rows), including 0."""
    dual = np.linalg.inv(vectors).T  # rows: reciprocal without 2 pi
    bounds = [int(np.ceil(radius * np.linalg.norm(dual[i]))) for i in range(3)]
    ranges = [np.arange(-b, b + 1) for b in bounds]
    m = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1).reshape(-1, 3)
    pts = m.astype(np.float64) @ vectors
    return pts[np.einsum("ij,ij->i", pts, pts) <= radius * radius]


def ewald_energy(
    positions: np.ndarray,
    charges: np.ndarray,
    cell: np.ndarray,
    *,
    alpha: float | None = None,
) -> float:
    """Ewald energy (eV) of point charges ``charges`` (units of e) at cartesian
    ``positions`` (Å) in the periodic ``cell`` (rows, Å), with a neutralising background.

    ``alpha`` (Å^-2) only changes the real/reciprocal split, not the result; by default
    it balances the two sums.
    """
    pos = np.atleast_2d(np.asarray(positions, dtype=np.float64))
    z = np.asarray(charges, dtype=np.float64).reshape(-1)
    cell = np.asarray(cell, dtype=np.float64)
    if pos.shape != (z.size, 3):
        raise ValueError(f"positions {pos.shape} and charges {z.shape} disagree")
    omega = cell_volume(cell)
    nat = z.size
    if alpha is None:
        alpha = np.pi * (nat / omega**2) ** (1.0 / 3.0)
    sqa = np.sqrt(alpha)

    # real space
    r_cut = np.sqrt(_EXPONENT) / sqa
    shifts = _lattice_points(cell, r_cut + np.max(np.ptp(pos, axis=0)) + 1e-9)
    d = pos[:, None, :] - pos[None, :, :]  # (N, N, 3): r_i - r_j
    zz = z[:, None] * z[None, :]
    e_real = 0.0
    chunk = max(1, 2_000_000 // (nat * nat))
    for start in range(0, len(shifts), chunk):
        r = d[None] + shifts[start : start + chunk, None, None, :]
        dist = np.sqrt(np.einsum("...i,...i->...", r, r))
        mask = (dist > 1e-10) & (dist <= r_cut)
        safe = np.where(mask, dist, 1.0)
        e_real += float(np.sum(np.where(mask, zz[None] * erfc(sqa * safe) / safe, 0.0)))
    e_real *= 0.5

    # reciprocal space
    g_cut = 2.0 * sqa * np.sqrt(_EXPONENT)
    gvec = _lattice_points(reciprocal_cell(cell), g_cut)
    g2 = np.einsum("ij,ij->i", gvec, gvec)
    gvec, g2 = gvec[g2 > 1e-12], g2[g2 > 1e-12]
    e_recip = 0.0
    chunk = max(1, 2_000_000 // nat)
    for start in range(0, len(g2), chunk):
        phase = gvec[start : start + chunk] @ pos.T  # (G, N)
        s_re = np.cos(phase) @ z
        s_im = np.sin(phase) @ z
        gg = g2[start : start + chunk]
        e_recip += float(np.sum((s_re**2 + s_im**2) * np.exp(-gg / (4.0 * alpha)) / gg))
    e_recip *= 2.0 * np.pi / omega

    e_self = -np.sqrt(alpha / np.pi) * float(np.sum(z * z))
    e_background = -np.pi * float(np.sum(z)) ** 2 / (2.0 * omega * alpha)
    return E2 * (e_real + e_recip + e_self + e_background)
