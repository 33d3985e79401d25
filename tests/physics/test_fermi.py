import warnings

import numpy as np
import pytest

from surrogate_hpo.physics import K_B, entropy_integrand, fermi_function, thermal_energy
from surrogate_hpo.physics.fermi import entropy_integrand_from_occupation


def test_boltzmann_constant_and_kt():
    assert K_B == pytest.approx(8.617333262e-5, rel=0, abs=1e-15)
    assert thermal_energy(1000.0) == pytest.approx(0.08617333262)
    with pytest.raises(ValueError):
        thermal_energy(-1.0)


def test_fermi_function_values_and_no_overflow():
    e = np.array([-1e6, -10.0, 0.0, 10.0, 1e6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = fermi_function(e, 0.0, 1.0)  # k_B T ~ 8.6e-5 eV: arguments up to 1e10
        s = entropy_integrand(e, 0.0, 1.0)
    np.testing.assert_array_equal(f, [1.0, 1.0, 0.5, 0.0, 0.0])
    assert np.all(np.isfinite(s)) and np.all(s <= 0)
    kt = thermal_energy(300.0)
    assert fermi_function(kt, 0.0, 300.0) == pytest.approx(1 / (1 + np.e), rel=1e-14)


def test_fermi_function_zero_temperature_is_step():
    f = fermi_function(np.array([-0.1, 0.0, 0.1]), 0.0, 0.0)
    np.testing.assert_array_equal(f, [1.0, 0.5, 0.0])


def test_entropy_integrand_matches_occupation_form():
    e = np.linspace(-0.5, 0.5, 101)
    f = fermi_function(e, 0.05, 800.0)
    np.testing.assert_allclose(
        entropy_integrand(e, 0.05, 800.0), entropy_integrand_from_occupation(f), atol=1e-15
    )
    assert entropy_integrand(0.05, 0.05, 800.0) == pytest.approx(-np.log(2.0), rel=1e-15)
    np.testing.assert_array_equal(entropy_integrand(e, 0.0, 0.0), 0.0)
