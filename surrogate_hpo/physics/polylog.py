"""Polylogarithms of negative exponentials, ``Li_s(-exp(-y))`` for ``y >= 0``.

These are (minus) the complete Fermi-Dirac integrals; they appear in the exact
integration of a piecewise-linear density of states against the Fermi function.
Pure numpy/scipy, vectorised, accurate to a few ulp for every ``y >= 0``:

* ``y >= 0.7``: the defining series ``sum_k (-1)^k e^{-k y} / k^s`` (56 terms);
* ``y < 0.7``: the Taylor series about ``y = 0``,
  ``Li_s(-e^{-y}) = -sum_k eta(s - k) (-y)^k / k!`` (radius of convergence pi),
  with Dirichlet's eta function at integer arguments.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import bernoulli, zeta

_N_SERIES = 56  # terms of the defining series for y >= 0.7 (e^{-0.7*56} ~ 1e-17)
_N_TAYLOR = 40  # terms of the Taylor series for y < 1 ((0.7/pi)^40 ~ 1e-26)
_MAX_ORDER = 4
_Y_SWITCH = 0.7


def _eta(m: int) -> float:
    """Dirichlet eta function ``eta(m) = (1 - 2^{1-m}) zeta(m)`` at an integer ``m``."""
    if m == 1:
        return math.log(2.0)
    if m >= 2:
        return (1.0 - 2.0 ** (1 - m)) * float(zeta(m))
    if m == 0:
        return 0.5
    n = -m  # eta(-n) = (2^{n+1} - 1) B_{n+1} / (n + 1)
    b = float(bernoulli(n + 1)[n + 1])
    return (2.0 ** (n + 1) - 1.0) * b / (n + 1)


# Taylor coefficients c_k = -eta(s-k) (-1)^k / k!  so that Li_s(-e^{-y}) = sum_k c_k y^k
_TAYLOR = {
    s: np.array([-_eta(s - k) * (-1.0) ** k / math.factorial(k) for k in range(_N_TAYLOR)])
    for s in range(1, _MAX_ORDER + 1)
}


def li_neg_exp(s: int, y: np.ndarray | float) -> np.ndarray:
    """``Li_s(-exp(-y))`` for integer order ``1 <= s <= 4`` and ``y >= 0`` (dimensionless).

    ``Li_1(-e^{-y}) = -log(1 + e^{-y})``; the value at ``y = 0`` is ``-eta(s)``;
    it decays like ``-e^{-y}`` for large ``y``.
    """
    if s not in _TAYLOR:
        raise ValueError(f"order s must be in 1..{_MAX_ORDER}, got {s}")
    y = np.asarray(y, dtype=np.float64)
    if np.any(y < 0) or np.any(np.isnan(y)):
        raise ValueError("li_neg_exp needs y >= 0")
    if s == 1:
        return -np.log1p(np.exp(-y))
    out = np.empty_like(y)
    small = y < _Y_SWITCH
    if np.any(small):
        ys = y[small]
        coeffs = _TAYLOR[s]
        acc = np.full_like(ys, coeffs[-1])
        for c in coeffs[-2::-1]:  # Horner
            acc = acc * ys + c
        out[small] = acc
    big = ~small
    if np.any(big):
        z = -np.exp(-y[big])
        acc = np.zeros_like(z)
        zk = np.ones_like(z)
        for k in range(1, _N_SERIES + 1):
            zk = zk * z
            acc += zk / float(k) ** s
        out[big] = acc
    return out
