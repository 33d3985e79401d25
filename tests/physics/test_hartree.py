"""Hartree energy by FFT against a periodic Gaussian charge."""

import math

import numpy as np
import pytest

from surrogate_hpo.physics.constants import E2
from surrogate_hpo.physics.hartree import hartree_energy, hartree_potential

MADELUNG_SC_JELLIUM = -1.4186487397  # Ewald energy per ion, sc lattice in background, q^2 e^2 / a


def periodic_gaussian(length: float, n: int, sigma: float, q: float, cell=None):
    cell = np.eye(3) * length if cell is None else cell
    frac = np.stack(np.meshgrid(*[np.arange(n) / n] * 3, indexing="ij"), axis=-1)
    r = frac @ cell
    dens = np.zeros((n, n, n))
    for shift in np.stack(np.meshgrid(*[np.arange(-1, 2)] * 3, indexing="ij"), -1).reshape(-1, 3):
        d = r - 0.5 * cell.sum(axis=0) - shift @ cell
        dens += np.exp(-np.einsum("...i,...i", d, d) / (2 * sigma**2))
    return dens * q / (2 * np.pi * sigma**2) ** 1.5, cell


def test_periodic_gaussian_hartree_energy():
    """E_H (G = 0 dropped) of Gaussians of charge q, width sigma on a cubic lattice L:
    isolated self-energy + point-lattice Madelung in background + width correction,
    q^2 e^2 [1/(2 sigma sqrt(pi)) - 1.4186487/L + 2 pi sigma^2 / L^3]."""
    length, sigma, q = 8.0, 0.6, 2.0
    dens, cell = periodic_gaussian(length, 40, sigma, q)
    assert dens.sum() * length**3 / dens.size == pytest.approx(q, rel=1e-12)
    exact = q**2 * E2 * (
        1 / (2 * sigma * math.sqrt(math.pi)) + MADELUNG_SC_JELLIUM / length + 2 * math.pi * sigma**2 / length**3
    )
    assert hartree_energy(dens, cell) == pytest.approx(exact, rel=1e-10)


def test_hartree_potential_consistent_with_energy_and_poisson():
    dens, cell = periodic_gaussian(6.0, 32, 0.5, 1.0)
    v = hartree_potential(dens, cell)
    dv = 6.0**3 / dens.size
    assert 0.5 * np.sum(v * dens) * dv == pytest.approx(hartree_energy(dens, cell), rel=1e-12)
    assert abs(v.mean()) < 1e-10  # G = 0 dropped
    # a uniform density has no Hartree energy (background cancels it)
    assert hartree_energy(np.full((8, 8, 8), 0.1), cell) == pytest.approx(0.0, abs=1e-12)


def test_hartree_non_orthogonal_cell_matches_orthogonal():
    """The same periodic density described by an fcc primitive cell and by the
    conventional cubic cell (4x the volume) must give 4x the energy."""
    a, n, sigma = 5.0, 40, 0.45
    cubic = np.eye(3) * a
    dens_c, _ = periodic_gaussian(a, n, sigma, 1.0, cubic)
    # fcc lattice of Gaussians in the cube: add three face-centred copies by rolling
    half = n // 2
    faces = [(0, half, half), (half, 0, half), (half, half, 0)]
    dens_fcc = dens_c + sum(np.roll(dens_c, s, axis=(0, 1, 2)) for s in faces)
    e_cubic = hartree_energy(dens_fcc, cubic)
    prim = 0.5 * a * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    dens_p, _ = periodic_gaussian(None, n, sigma, 1.0, prim)
    assert e_cubic == pytest.approx(4 * hartree_energy(dens_p, prim), rel=1e-8)


def test_cutoff_sphere_removes_short_wavelengths():
    dens, cell = periodic_gaussian(6.0, 32, 0.3, 1.0)
    full = hartree_energy(dens, cell)
    cut = hartree_energy(dens, cell, ecutrho_ry=20.0)
    assert cut < full
