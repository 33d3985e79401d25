"""Exact integration of a piecewise-linear DOS/LDOS against Fermi-Dirac functions.

Convention (MALA's): the value ``D_i`` on the energy grid weighs the hat function
``phi_i(E) = max(0, 1 - |E - E_i| / h)`` of half-width ``h`` = grid spacing, so the DOS is
the linear interpolant of the grid values and falls linearly to zero one spacing beyond
both ends of the grid. For a function ``g`` of energy,

    \\int D(E) g(E) dE = sum_i D_i w_i,    w_i = \\int phi_i(E) g(E) dE.

The weights ``w_i`` are computed in closed form for

* ``g = f``                      (``occupation_weights``, dimensionless -> electrons),
* ``g = E f``                    (``band_energy_weights``, eV -> band energy),
* ``g = f ln f + (1-f) ln(1-f)`` (``entropy_weights``; ``-TS = k_B T sum_i D_i w_i``).

Method: ``f = theta(E_F - E) + c``. The step part against a hat is a polynomial. The
remainder ``c`` is smooth and decays exponentially; ``\\int phi_i c = G(E_{i+1}) - 2 G(E_i) +
G(E_{i-1})`` over ``h``, with ``G`` a second antiderivative built from ``Li_2`` and ``Li_3`` of
``-exp(-|x|)``, ``x = (E - E_F)/k_B T`` (bounded, so no catastrophic cancellation), plus the
Sommerfeld-like kink terms ``∝ phi_i(E_F)``. At ``T = 0`` only the step parts remain.
All weights are in eV (``eV^2`` for ``band_energy_weights``); they apply to any array
whose last axis is the energy grid: ``density = ldos @ w``.

Optionally (``broadening_variance`` > 0) the integrand ``g`` is replaced by
``g - v/2 g''``, which undoes, to second order, the broadening of a DFT LDOS by a kernel
of variance ``v`` (pp.x's ``degauss_ldos``); ``\\int phi_i g''`` is exact for hats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .energy_grid import EnergyGrid, as_energy_grid
from .fermi import entropy_integrand, fermi_function, thermal_energy
from .polylog import li_neg_exp

_PI2 = np.pi**2


def _step_fractions(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``s = (E_F - E_i)/h``: ``Q = \\int_{-1}^{a} (1-|u|) du`` and
    ``P = \\int_{-1}^{a} (1-|u|) u du`` with ``a = clip(s, -1, 1)``."""
    a = np.clip(s, -1.0, 1.0)
    neg = a <= 0
    q = np.where(neg, 0.5 * (1.0 + a) ** 2, 1.0 - 0.5 * (1.0 - a) ** 2)
    a2, a3 = a * a, a * a * a
    p = np.where(neg, a2 / 2 + a3 / 3 - 1.0 / 6, -1.0 / 6 + a2 / 2 - a3 / 3)
    return q, p


def _nodes(energy_grid: EnergyGrid, fermi_energy: float) -> tuple[np.ndarray, np.ndarray]:
    """Scaled grid positions: ``s_i = (E_F - E_i)/h`` for i = 0..n-1 and the node
    offsets ``E_j - E_F`` (eV) for j = -1..n (the hat end points)."""
    h = float(energy_grid.spacing)
    j = np.arange(-1, energy_grid.n + 1, dtype=np.float64)
    # offset relative to E_F first, so that E_j - E_F keeps full precision
    rel = (float(energy_grid.offset) - float(fermi_energy)) + h * j
    return -rel[1:-1] / h, rel


def _second_difference(g: np.ndarray) -> np.ndarray:
    """``g[j+1] - 2 g[j] + g[j-1]`` for the interior nodes."""
    return (g[2:] - g[1:-1]) - (g[1:-1] - g[:-2])


def _hat_at_fermi(s: np.ndarray) -> np.ndarray:
    """``phi_i(E_F) = max(0, 1 - |s_i|)``."""
    return np.maximum(0.0, 1.0 - np.abs(s))


def kernel_variance(width: float, kernel: str = "fermi-dirac") -> float:
    """Variance (eV^2) of an LDOS broadening kernel of width ``width`` (eV), as used by
    ``pp.x`` (``degauss_ldos``): ``"fermi-dirac"`` (-df/dE, pp.x with FD smearing):
    ``pi^2 w^2 / 3``; ``"gaussian"`` (``exp(-(E/w)^2) / (w sqrt(pi))``): ``w^2 / 2``."""
    k = kernel.lower().replace("_", "-")
    if k in ("fermi-dirac", "fd", "fermi"):
        return float(np.pi**2 * width * width / 3.0)
    if k in ("gaussian", "gauss"):
        return float(width * width / 2.0)
    raise ValueError(f"unknown broadening kernel {kernel!r} (fermi-dirac or gaussian)")


def _curvature_correction(
    values_at_nodes: np.ndarray, h: float, broadening_variance: float
) -> np.ndarray:
    """``-(v/2) \\int phi_i g'' dE = -(v/2) (g_{i+1} - 2 g_i + g_{i-1}) / h`` (exact for hats)."""
    return -0.5 * broadening_variance * _second_difference(values_at_nodes) / h


def _check_variance(broadening_variance: float) -> float:
    v = float(broadening_variance)
    if not v >= 0.0:
        raise ValueError(f"broadening_variance must be >= 0 eV^2, got {broadening_variance}")
    return v


def occupation_weights(
    energy_grid: EnergyGrid,
    fermi_energy: float,
    temperature: float,
    *,
    broadening_variance: float = 0.0,
) -> np.ndarray:
    """Weights ``w_i = \\int phi_i(E) f(E) dE`` (eV), shape ``(n,)``.

    ``sum_i D_i w_i`` is the number of electrons for a DOS in 1/eV, and
    ``ldos @ w`` the electron density for an LDOS in 1/(eV Å^3).
    ``broadening_variance`` (eV^2, default 0: MALA's plain integral): see
    :func:`integration_weights`.
    """
    v = _check_variance(broadening_variance)
    energy_grid = as_energy_grid(energy_grid)
    h = float(energy_grid.spacing)
    s, rel = _nodes(energy_grid, fermi_energy)
    q, _ = _step_fractions(s)
    w = h * q
    kt = thermal_energy(temperature)
    if kt > 0.0:
        x = rel / kt
        ax = np.abs(x)
        # odd second antiderivative of c = f - theta: sgn(x) (-pi^2/12 - Li2(-e^-|x|))
        g = np.sign(x) * (-_PI2 / 12 - li_neg_exp(2, ax))
        w = w + (kt * kt / h) * _second_difference(g)
    if v > 0.0:
        f_nodes = fermi_function(float(fermi_energy) + rel, fermi_energy, temperature)
        w = w + _curvature_correction(f_nodes, h, v)
    return w


@dataclass(frozen=True)
class IntegrationWeights:
    """All weights for one ``(E_F, T)`` on one energy grid.

    Attributes:
        occupation: ``\\int phi_i f dE`` (eV).
        band_energy: ``\\int phi_i E f dE`` (eV^2).
        entropy: ``\\int phi_i s dE`` (eV), ``s = f ln f + (1-f) ln(1-f)``; multiply by
            ``k_B T`` for the ``-TS`` contribution.
        fermi_energy: eV.  temperature: K.
    """

    occupation: np.ndarray
    band_energy: np.ndarray
    entropy: np.ndarray
    fermi_energy: float
    temperature: float
    broadening_variance: float = 0.0

    @property
    def kt(self) -> float:
        return thermal_energy(self.temperature)


def integration_weights(
    energy_grid: EnergyGrid,
    fermi_energy: float,
    temperature: float,
    *,
    broadening_variance: float = 0.0,
) -> IntegrationWeights:
    """Occupation, band-energy and entropy weights in one pass (see module docstring).

    ``broadening_variance`` (eV^2): an LDOS from DFT is the true one convolved with a
    kernel K of this variance (pp.x's ``degauss_ldos``, see :func:`kernel_variance`).
    As ``\\int (D*K) g = \\int D (K*g)`` and ``K*g = g + v/2 g'' + O(v^2)``, integrating
    the broadened LDOS against ``g - v/2 g''`` removes the broadening error to second
    order (for Al at w = 0.1 eV: band energy from -11 to -1 meV/atom against QE).
    ``\\int phi_i g''`` is exact: the second difference of g at the nodes over h. Default
    0: the plain integral (MALA's convention).
    """
    v = _check_variance(broadening_variance)
    energy_grid = as_energy_grid(energy_grid)
    h = float(energy_grid.spacing)
    mu = float(fermi_energy)
    s, rel = _nodes(energy_grid, mu)
    q, p = _step_fractions(s)
    w_f = h * q
    # \int phi_i (E - E_F) theta(E_F - E) dE = h^2 (P(a) - s Q(a)), zero for s <= -1
    w_x = np.where(s > -1.0, h * h * (p - s * q), 0.0)
    w_s = np.zeros_like(w_f)
    kt = thermal_energy(temperature)
    if kt > 0.0:
        x = rel / kt
        ax = np.abs(x)
        li2 = li_neg_exp(2, ax)
        li3 = li_neg_exp(3, ax)
        hat_mu = _hat_at_fermi(s)
        g_c = np.sign(x) * (-_PI2 / 12 - li2)  # f - theta
        g_xc = -ax * li2 - 2.0 * li3  # x (f - theta), even part
        g_s = 3.0 * li3 + ax * li2  # entropy integrand, even part
        w_f = w_f + (kt * kt / h) * _second_difference(g_c)
        w_x = w_x + (kt**3 / h) * _second_difference(g_xc) + (kt * kt * _PI2 / 6) * hat_mu
        w_s = (kt * kt / h) * _second_difference(g_s) - (kt * _PI2 / 3) * hat_mu
    w_e = mu * w_f + w_x
    if v > 0.0:
        e_nodes = mu + rel
        f_nodes = fermi_function(e_nodes, mu, temperature)
        w_f = w_f + _curvature_correction(f_nodes, h, v)
        w_e = w_e + _curvature_correction(e_nodes * f_nodes, h, v)
        w_s = w_s + _curvature_correction(entropy_integrand(e_nodes, mu, temperature), h, v)
    return IntegrationWeights(
        occupation=w_f,
        band_energy=w_e,
        entropy=w_s,
        fermi_energy=mu,
        temperature=float(temperature),
        broadening_variance=v,
    )


def band_energy_weights(
    energy_grid: EnergyGrid, fermi_energy: float, temperature: float, *, broadening_variance: float = 0.0
) -> np.ndarray:
    """Weights ``\\int phi_i(E) E f(E) dE`` (eV^2): ``sum_i D_i w_i`` is the band energy."""
    return integration_weights(
        energy_grid, fermi_energy, temperature, broadening_variance=broadening_variance
    ).band_energy


def entropy_weights(
    energy_grid: EnergyGrid, fermi_energy: float, temperature: float, *, broadening_variance: float = 0.0
) -> np.ndarray:
    """Weights ``\\int phi_i(E) s(E) dE`` (eV): ``-TS = k_B T sum_i D_i w_i`` (eV)."""
    return integration_weights(
        energy_grid, fermi_energy, temperature, broadening_variance=broadening_variance
    ).entropy


def hat_interpolate(values: np.ndarray, energy_grid: EnergyGrid, energy: np.ndarray) -> np.ndarray:
    """The piecewise-linear function defined by grid ``values`` ``(nE,)``, at ``energy``
    (eV): linear between grid points, ramping to zero one spacing beyond both ends."""
    grid = as_energy_grid(energy_grid)
    e = np.concatenate([[grid.offset - grid.spacing], grid.values, [grid.end + grid.spacing]])
    v = np.concatenate([[0.0], np.asarray(values, dtype=np.float64), [0.0]])
    return np.interp(energy, e, v, left=0.0, right=0.0)
