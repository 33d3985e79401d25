"""Second-order removal of the LDOS broadening (``broadening_variance``)."""

import math

import numpy as np
import pytest

from surrogate_hpo.physics import (
    EnergyGrid,
    integration_weights,
    kernel_variance,
    observables_from_dos,
    occupation_weights,
    thermal_energy,
)


def test_kernel_variances():
    assert kernel_variance(0.1, "fermi-dirac") == pytest.approx(math.pi**2 * 0.01 / 3)
    assert kernel_variance(0.1, "gaussian") == pytest.approx(0.005)
    with pytest.raises(ValueError):
        kernel_variance(0.1, "lorentzian")
    with pytest.raises(ValueError):
        occupation_weights(EnergyGrid(0.0, 0.1, 5), 0.2, 300.0, broadening_variance=-1.0)


def test_correction_is_exact_integral_of_second_derivative(rng, reference_integral):
    """w_i(v) - w_i(0) = -(v/2) \\int phi_i f'' dE, against quadrature of the analytic f''."""
    grid = EnergyGrid(offset=-2.0, spacing=0.1, n=40)
    mu, temperature, v = 0.123, 1200.0, 0.02
    kt = thermal_energy(temperature)
    dos = rng.random(grid.n)
    dw = occupation_weights(grid, mu, temperature, broadening_variance=v) - occupation_weights(grid, mu, temperature)

    def f2(e):
        f = 1.0 / (1.0 + np.exp((e - mu) / kt))
        return f * (1 - f) * (1 - 2 * f) / kt**2

    assert dos @ dw == pytest.approx(-0.5 * v * reference_integral(dos, grid, f2, mu, temperature), rel=1e-8)


def _gaussians(e, centres, widths2, weights):
    e = np.asarray(e)[..., None]
    return np.sum(weights * np.exp(-((e - centres) ** 2) / (2 * widths2)) / np.sqrt(2 * np.pi * widths2), axis=-1)


def test_removes_gaussian_broadening_to_second_order():
    """A 'true' DOS of Gaussian peaks, broadened by a Gaussian kernel of variance v (the
    widths add in quadrature): the corrected observables of the broadened DOS are much
    closer to those of the true DOS than the plain ones."""
    centres = np.array([-3.0, -1.2, 0.1, 0.9, 2.5])
    widths2 = np.array([0.3, 0.2, 0.25, 0.3, 0.4]) ** 2
    weights = np.array([2.0, 3.0, 2.5, 1.5, 3.0])
    grid = EnergyGrid(offset=-6.0, spacing=0.02, n=551)
    temperature, n_el = 300.0, 6.0
    v = kernel_variance(0.1, "fermi-dirac")  # 0.033 eV^2, the pp.x kernel of the bundled data
    true = observables_from_dos(_gaussians(grid.values, centres, widths2, weights), grid, temperature, n_el)
    broad = _gaussians(grid.values, centres, widths2 + v, weights)
    plain = observables_from_dos(broad, grid, temperature, n_el)
    corr = observables_from_dos(broad, grid, temperature, n_el, broadening_variance=v)
    for key, factor in (("band_energy", 0.1), ("fermi_energy", 0.2)):
        err_plain = abs(plain[key] - true[key])
        err_corr = abs(corr[key] - true[key])
        assert err_plain > 5e-3
        assert err_corr < factor * err_plain, key
    w = integration_weights(grid, true["fermi_energy"], temperature, broadening_variance=v)
    assert w.broadening_variance == v
