"""Closed-form hat-function weights: exactness, the hat convention, analytic DOS."""

import math

import numpy as np
import pytest

from surrogate_hpo.physics import (
    EnergyGrid,
    entropy_integrand,
    fermi_function,
    integration_weights,
    occupation_weights,
    thermal_energy,
)

CASES = [  # (E_F eV, T K): mid-grid, hot, cold, below the grid, in the top ramp, T = 0
    (0.3, 300.0),
    (0.3, 3000.0),
    (0.0321, 50.0),
    (-5.13, 1000.0),
    (6.95, 500.0),
    (0.3, 0.0),
    (0.25, 0.0),  # E_F exactly on a grid node
]


@pytest.mark.parametrize("fermi_energy,temperature", CASES)
def test_weights_exact_against_fine_quadrature(rng, reference_integral, fermi_energy, temperature):
    grid = EnergyGrid(offset=-5.0, spacing=0.05, n=240)
    dos = rng.random(grid.n) + 0.2
    w = integration_weights(grid, fermi_energy, temperature)
    np.testing.assert_allclose(w.occupation, occupation_weights(grid, fermi_energy, temperature), rtol=0, atol=1e-15)
    f = lambda e: fermi_function(e, fermi_energy, temperature)  # noqa: E731
    ef = lambda e: e * fermi_function(e, fermi_energy, temperature)  # noqa: E731
    s = lambda e: entropy_integrand(e, fermi_energy, temperature)  # noqa: E731
    n_ref = reference_integral(dos, grid, f, fermi_energy, temperature)
    eb_ref = reference_integral(dos, grid, ef, fermi_energy, temperature)
    s_ref = reference_integral(dos, grid, s, fermi_energy, temperature)
    assert dos @ w.occupation == pytest.approx(n_ref, rel=1e-10)
    assert dos @ w.band_energy == pytest.approx(eb_ref, rel=1e-10)
    if temperature == 0:
        assert np.all(w.entropy == 0.0)
    else:
        assert dos @ w.entropy == pytest.approx(s_ref, rel=1e-9, abs=1e-14)
        assert dos @ w.entropy < 0.0


def test_weights_exact_on_coarse_grid_against_trapezoid():
    """A 2.5 eV grid (MALA's coarse case) against a 1e6-point trapezoid."""
    grid = EnergyGrid(offset=-10.0, spacing=2.5, n=9)
    dos = np.array([0.1, 0.5, 1.0, 2.0, 1.5, 1.0, 3.0, 0.2, 0.7])
    mu, temperature = 1.37, 2000.0
    e = np.linspace(grid.offset - grid.spacing, grid.end + grid.spacing, 1_000_001)
    from surrogate_hpo.physics import hat_interpolate

    d = hat_interpolate(dos, grid, e)
    w = integration_weights(grid, mu, temperature)
    f = fermi_function(e, mu, temperature)
    assert dos @ w.occupation == pytest.approx(np.trapezoid(d * f, e), rel=1e-9)
    assert dos @ w.band_energy == pytest.approx(np.trapezoid(d * e * f, e), rel=1e-9)
    s = entropy_integrand(e, mu, temperature)
    assert dos @ w.entropy == pytest.approx(np.trapezoid(d * s, e), rel=1e-9)


def test_hat_convention_includes_half_spacing_ramps():
    grid = EnergyGrid(offset=1.0, spacing=0.5, n=11)  # grid 1 .. 6 eV
    c = 2.0
    dos = np.full(grid.n, c)
    # E_F far above the grid: everything is occupied; the DOS integral is c * n * h,
    # i.e. the (n-1) h of the grid plus two ramps of area c h / 2
    w = integration_weights(grid, 100.0, 300.0)
    assert dos @ w.occupation == pytest.approx(c * grid.n * grid.spacing, rel=1e-14)
    assert dos @ w.occupation == pytest.approx(c * ((grid.n - 1) * grid.spacing + grid.spacing), rel=1e-14)
    np.testing.assert_allclose(w.occupation, grid.spacing, rtol=1e-14)
    # energy: the centroid of the constant part is the grid mid-point (3.5 eV), and the
    # two ramps are symmetric about it
    assert dos @ w.band_energy == pytest.approx(c * grid.n * grid.spacing * 3.5, rel=1e-14)
    # E_F at the first grid point: only the lower ramp (c h / 2) plus half the first hat
    w0 = integration_weights(grid, grid.offset, 0.0)
    assert dos @ w0.occupation == pytest.approx(c * grid.spacing / 2, rel=1e-14)
    # E_F half a spacing below the first point: a quarter of the ramp area
    wm = integration_weights(grid, grid.offset - grid.spacing / 2, 0.0)
    assert dos @ wm.occupation == pytest.approx(c * grid.spacing / 8, rel=1e-14)


@pytest.mark.parametrize("temperature", [0.0, 300.0, 1500.0])
def test_constant_dos_analytic(temperature):
    """Constant DOS c on [a, b]: N, E_b and -TS in closed form (Sommerfeld is exact
    for a DOS that is linear within many k_B T of E_F)."""
    grid = EnergyGrid(offset=-8.0, spacing=0.1, n=161)  # -8 .. 8 eV
    c, mu, a, h = 1.7, 0.537, -8.0, 0.1
    kt = thermal_energy(temperature)
    w = integration_weights(grid, mu, temperature)
    dos = np.full(grid.n, c)
    n_exact = c * (mu - a + h / 2)
    eb_exact = c * (h / 2) * (a - h / 3) + c * (mu**2 - a**2) / 2 + c * math.pi**2 / 6 * kt**2
    ts_exact = -c * math.pi**2 / 3 * kt**2
    assert dos @ w.occupation == pytest.approx(n_exact, rel=1e-13)
    assert dos @ w.band_energy == pytest.approx(eb_exact, rel=1e-12)
    assert kt * (dos @ w.entropy) == pytest.approx(ts_exact, rel=1e-11, abs=1e-16)


def test_free_electron_dos_zero_and_finite_temperature():
    """D(E) = A sqrt(E) on a fine grid: N = 2/3 A mu^1.5, E_b = 2/5 A mu^2.5 at T = 0,
    and the Sommerfeld T^2 shifts at finite T."""
    grid = EnergyGrid(offset=0.0, spacing=1e-3, n=12001)  # 0 .. 12 eV
    amp, mu = 0.8, 5.0
    dos = amp * np.sqrt(grid.values)
    w0 = integration_weights(grid, mu, 0.0)
    assert dos @ w0.occupation == pytest.approx(2 / 3 * amp * mu**1.5, rel=2e-6)
    assert dos @ w0.band_energy == pytest.approx(2 / 5 * amp * mu**2.5, rel=2e-6)
    kt = thermal_energy(1160.0)  # ~0.1 eV
    wt = integration_weights(grid, mu, 1160.0)
    d_mu = amp * math.sqrt(mu)
    dprime = amp * 0.5 / math.sqrt(mu)
    # Sommerfeld: dN = pi^2/6 (kT)^2 D'(mu); dE_b = pi^2/6 (kT)^2 (E D)'(mu); -TS = -pi^2/3 (kT)^2 D(mu)
    dn = dos @ wt.occupation - dos @ w0.occupation
    deb = dos @ wt.band_energy - dos @ w0.band_energy
    assert dn == pytest.approx(math.pi**2 / 6 * kt**2 * dprime, rel=1e-3)
    assert deb == pytest.approx(math.pi**2 / 6 * kt**2 * (d_mu + mu * dprime), rel=1e-3)
    assert kt * (dos @ wt.entropy) == pytest.approx(-math.pi**2 / 3 * kt**2 * d_mu, rel=1e-3)


def test_low_temperature_limit_is_continuous():
    grid = EnergyGrid(offset=-3.0, spacing=0.2, n=31)
    for mu in (0.0, 0.05, 0.1999):
        w0 = integration_weights(grid, mu, 0.0)
        w1 = integration_weights(grid, mu, 1e-3)
        np.testing.assert_allclose(w1.occupation, w0.occupation, atol=1e-12)
        np.testing.assert_allclose(w1.band_energy, w0.band_energy, atol=1e-12)
        np.testing.assert_allclose(w1.entropy, 0.0, atol=1e-6)


def test_weights_apply_to_any_leading_shape(rng):
    grid = EnergyGrid(offset=-2.0, spacing=0.1, n=50)
    ldos = rng.random((3, 4, 5, grid.n))
    w = occupation_weights(grid, 0.4, 500.0)
    dens = ldos @ w
    assert dens.shape == (3, 4, 5)
    assert dens[1, 2, 3] == pytest.approx(ldos[1, 2, 3] @ w)
