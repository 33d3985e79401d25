import math

import numpy as np
import pytest
from scipy.special import spence, zeta

from surrogate_hpo.physics.polylog import li_neg_exp


def test_special_values():
    assert li_neg_exp(1, 0.0) == pytest.approx(-math.log(2), rel=1e-15)
    assert li_neg_exp(2, 0.0) == pytest.approx(-math.pi**2 / 12, rel=1e-15)
    assert li_neg_exp(3, 0.0) == pytest.approx(-0.75 * zeta(3), rel=1e-15)
    assert li_neg_exp(4, 0.0) == pytest.approx(-7 * math.pi**4 / 720, rel=1e-15)


def test_li2_matches_scipy_spence_across_the_switch():
    y = np.linspace(0.0, 40.0, 4001)  # spence(1-z) loses relative precision for tiny z
    z = -np.exp(-y)
    ref = spence(1.0 - z)  # Li2(z) = spence(1 - z)
    np.testing.assert_allclose(li_neg_exp(2, y), ref, rtol=5e-15, atol=3e-16)


def test_li3_against_defining_series_and_derivative():
    # d/dy Li3(-e^-y) = -Li2(-e^-y): check by central differences on both branches
    y = np.array([0.2, 0.69, 0.71, 1.5, 4.0])
    d = 1e-5
    num = (li_neg_exp(3, y + d) - li_neg_exp(3, y - d)) / (2 * d)
    np.testing.assert_allclose(num, -li_neg_exp(2, y), rtol=1e-8)
    yb = 3.0
    k = np.arange(1, 200)
    ref = np.sum((-np.exp(-yb)) ** k / k**3)
    assert li_neg_exp(3, yb) == pytest.approx(ref, rel=1e-15)


def test_against_mpmath_if_available():
    mp = pytest.importorskip("mpmath")
    ys = np.concatenate([np.linspace(0.0, 3.0, 61), [5.0, 20.0]])
    for s in (2, 3, 4):
        ref = np.array([float(mp.polylog(s, -mp.exp(-mp.mpf(float(y))))) for y in ys])
        np.testing.assert_allclose(li_neg_exp(s, ys), ref, rtol=5e-15)


def test_rejects_negative_argument():
    with pytest.raises(ValueError):
        li_neg_exp(2, -0.1)
