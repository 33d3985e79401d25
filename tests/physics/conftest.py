"""Shared helpers for the physics tests: a reference quadrature independent of the
closed-form weights."""

from __future__ import annotations

import numpy as np
import pytest

from surrogate_hpo.physics import EnergyGrid, hat_interpolate, thermal_energy

_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)


def reference_integral(dos, grid: EnergyGrid, g, fermi_energy: float, temperature: float) -> float:
    """``\\int D(E) g(E) dE`` of the hat-interpolated DOS by composite 24-point
    Gauss-Legendre on panels no wider than min(h, k_B T)/4, with breakpoints at every
    grid node and at E_F (so the integrand is smooth on each panel)."""
    h = grid.spacing
    kt = thermal_energy(temperature)
    nodes = np.concatenate([[grid.offset - h], grid.values, [grid.end + h]])
    brk = np.unique(np.concatenate([nodes, [fermi_energy]]))
    brk = brk[(brk >= nodes[0]) & (brk <= nodes[-1])]
    width = h / 4 if kt == 0 else min(h, kt) / 4
    total = 0.0
    for a, b in zip(brk[:-1], brk[1:]):
        m = max(1, int(np.ceil((b - a) / width)))
        edges = np.linspace(a, b, m + 1)
        lo, hi = edges[:-1, None], edges[1:, None]
        e = 0.5 * (hi + lo) + 0.5 * (hi - lo) * _GL_X[None, :]
        wq = 0.5 * (hi - lo) * _GL_W[None, :]
        total += float(np.sum(wq * hat_interpolate(dos, grid, e) * g(e)))
    return total


@pytest.fixture(name="reference_integral")
def reference_integral_fixture():
    return reference_integral


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
