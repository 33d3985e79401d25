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
_N_TAYLOR = 30  # terms of the Taylor series for y < 0.7 ((0.7/pi)^30 ~ 3e-20)
_MAX_ORDER = 4
_Y_SWITCH = 0.7
_Y_FAR = 37.0


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


_POWERS_TAYLOR = np.arange(_N_TAYLOR, dtype=np.float64)
_POWERS_SERIES = np.arange(1, _N_SERIES + 1, dtype=np.float64)
_SIGNS = (-1.0) ** _POWERS_SERIES

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
    if not y.min(initial=0.0) >= 0.0:  # also catches NaN
        raise ValueError("li_neg_exp needs y >= 0")
    if s == 1:
        return -np.log1p(np.exp(-y))
    out = np.empty_like(y)
    small = y < _Y_SWITCH
    if np.any(small):
        ys = y[small]
        out[small] = np.power.outer(ys, _POWERS_TAYLOR) @ _TAYLOR[s]
    mid = (y >= _Y_SWITCH) & (y <= _Y_FAR)
    if np.any(mid):
        ym = y[mid]
        # terms needed: e^{-K y} < 1e-17 for the smallest y of the subset
        n_terms = min(_N_SERIES, int(np.ceil(39.2 / float(ym.min()))))
        k = _POWERS_SERIES[:n_terms]
        out[mid] = np.exp(-np.multiply.outer(ym, k)) @ (_SIGNS[:n_terms] / k**s)
    far = y > _Y_FAR
    if np.any(far):  # two terms are exact to e^{-3y} < 1e-48
        e1 = np.exp(-y[far])
        out[far] = -e1 + e1 * e1 / 2.0**s
    return out
