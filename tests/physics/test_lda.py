"""Perdew-Zunger LDA exchange-correlation."""

import math

import numpy as np
import pytest

from surrogate_hpo.physics.constants import BOHR, HARTREE
from surrogate_hpo.physics.lda import lda_pz, pz_correlation, slater_exchange, xc_energy


def test_slater_exchange_value():
    rs = np.array([0.5, 1.0, 2.0, 4.0])
    ex, vx = slater_exchange(rs)
    # eps_x = -(3/4) (9/(4 pi^2))^(1/3) / rs = -0.458165293 / rs Hartree
    np.testing.assert_allclose(ex, -0.75 * (9 / (4 * math.pi**2)) ** (1 / 3) / rs, rtol=1e-13)
    np.testing.assert_allclose(vx, 4 / 3 * ex, rtol=1e-15)


def test_pz_correlation_tabulated_values():
    rs = np.array([0.5, 2.0, 5.0, 10.0])
    ec, _ = pz_correlation(rs)
    # PZ81 values (Hartree), hand-evaluated from the published parametrisation
    np.testing.assert_allclose(ec, [-0.0760500, -0.0450912, -0.0283389, -0.0185683], atol=2e-7)


def test_pz_close_to_pw92():
    """PZ81 and PW92 both fit Ceperley-Alder; they agree to < 1 mHa for 1 <= rs <= 10."""
    rs = np.linspace(1.0, 10.0, 19)
    a, a1, b1, b2, b3, b4 = 0.031091, 0.21370, 7.5957, 3.5876, 1.6382, 0.49294
    pw92 = -2 * a * (1 + a1 * rs) * np.log(
        1 + 1 / (2 * a * (b1 * rs**0.5 + b2 * rs + b3 * rs**1.5 + b4 * rs**2))
    )
    ec, _ = pz_correlation(rs)
    np.testing.assert_allclose(ec, pw92, atol=1e-3)


def test_pz_nearly_continuous_at_rs_one():
    lo = pz_correlation(np.array([1.0 - 1e-12]))
    hi = pz_correlation(np.array([1.0]))
    assert abs(lo[0][0] - hi[0][0]) < 5e-5  # the PZ81 fit has a ~3e-5 Ha step
    assert abs(lo[1][0] - hi[1][0]) < 5e-4


@pytest.mark.parametrize("rs", [0.3, 0.9, 1.1, 3.0, 8.0])
def test_potential_is_derivative_of_energy_density(rs):
    """v_xc = d(n eps_xc)/dn, checked by central differences in n (both PZ branches)."""
    n0 = 3 / (4 * math.pi * rs**3) / BOHR**3  # 1/Å^3
    dn = 1e-6 * n0
    e = lambda n: float(lda_pz(np.array([n]))[0][0]) * n  # noqa: E731
    num = (e(n0 + dn) - e(n0 - dn)) / (2 * dn)
    assert num == pytest.approx(float(lda_pz(np.array([n0]))[1][0]), rel=1e-7)


def test_xc_energy_of_uniform_gas_and_vanishing_density():
    rs = 2.07  # ~ aluminium valence density
    n = 3 / (4 * math.pi * rs**3) / BOHR**3
    dens = np.full((4, 4, 4), n)
    exc, vxc_n = xc_energy(dens, voxel_volume=0.25)
    ex, vx = slater_exchange(np.array(rs))
    ec, vc = pz_correlation(np.array([rs]))
    volume = 0.25 * 64
    assert exc == pytest.approx(float(ex + ec[0]) * HARTREE * n * volume, rel=1e-12)
    assert vxc_n == pytest.approx(float(vx + vc[0]) * HARTREE * n * volume, rel=1e-12)
    eps, v = lda_pz(np.array([0.0, 1e-15]))
    assert np.all(eps == 0) and np.all(v == 0)
