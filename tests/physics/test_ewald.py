"""Ewald energy against Madelung constants."""

import numpy as np
import pytest

from surrogate_hpo.physics.constants import E2
from surrogate_hpo.physics.ewald import ewald_energy

FCC = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])


@pytest.mark.parametrize("alpha", [None, 0.1, 0.5, 3.0])
def test_nacl_madelung(alpha):
    """Rock salt, charges +-1: E = -1.747565 e^2 / r0 per ion pair, r0 = a/2."""
    a = 5.64
    pos = np.concatenate([FCC, FCC + [0.5, 0, 0]]) * a
    q = np.array([1.0] * 4 + [-1.0] * 4)
    e = ewald_energy(pos, q, np.eye(3) * a, alpha=alpha)
    assert -e / 4 / E2 * (a / 2) == pytest.approx(1.747565, abs=1e-6)


def test_cscl_madelung():
    a = 4.11
    e = ewald_energy([[0, 0, 0], [a / 2] * 3], [1.0, -1.0], np.eye(3) * a)
    r0 = a * np.sqrt(3) / 2
    assert -e / E2 * r0 == pytest.approx(1.762675, abs=1e-6)


@pytest.mark.parametrize("alpha", [None, 0.2, 1.0])
def test_jellium_lattices(alpha):
    """One-component lattices in a neutralising background (QE's convention):
    sc -1.4186487 q^2 e^2 / a per ion; bcc -0.8959293 / r_ws (Wigner crystal, -1.791859 Ry rs)."""
    a, q = 3.0, 2.0
    e = ewald_energy([[0, 0, 0]], [q], np.eye(3) * a, alpha=alpha)
    assert e / (q * q * E2) * a == pytest.approx(-1.4186487, abs=1e-7)
    bcc = ewald_energy([[0, 0, 0], [0.5, 0.5, 0.5]], [1.0, 1.0], np.eye(3), alpha=alpha)
    r_ws = (3 / (4 * np.pi) / 2) ** (1 / 3)
    assert bcc / 2 / E2 * r_ws == pytest.approx(-0.8959293, abs=1e-7)


def test_primitive_and_supercell_agree_and_translation_invariance():
    a, z = 4.05, 3.0
    prim = 0.5 * a * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    e_prim = ewald_energy([[0, 0, 0]], [z], prim)
    e_conv = ewald_energy(FCC * a, [z] * 4, np.eye(3) * a)
    assert e_conv == pytest.approx(4 * e_prim, rel=1e-12)
    e_shift = ewald_energy(FCC * a + [0.3, -1.1, 2.0], [z] * 4, np.eye(3) * a)
    assert e_shift == pytest.approx(e_conv, rel=1e-12)
    # fcc in background: -1.7917472 Ry * Z^2 / r_ws per ion (Wigner crystal constant)
    r_ws = (3 * a**3 / 4 / (4 * np.pi)) ** (1 / 3)
    assert e_prim == pytest.approx(-0.8958736 * z * z * E2 / r_ws, rel=1e-6)


def test_bad_shapes():
    with pytest.raises(ValueError):
        ewald_energy(np.zeros((2, 3)), [1.0], np.eye(3))
