"""Fermi-Dirac occupation and the electronic entropy integrand (eV, K)."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, xlogy

K_B = 8.617333262e-5
"""Boltzmann constant (eV/K)."""


def thermal_energy(temperature: float) -> float:
    """``k_B T`` in eV for a temperature in K (>= 0)."""
    if temperature < 0 or not np.isfinite(temperature):
        raise ValueError(f"temperature must be finite and >= 0 K, got {temperature}")
    return K_B * float(temperature)


def fermi_function(
    energy: np.ndarray | float, fermi_energy: float, temperature: float
) -> np.ndarray:
    """Occupation ``f(E) = 1 / (1 + exp((E - E_F) / k_B T))``, dimensionless.

    Energies in eV, temperature in K. Numerically stable for any argument
    (no overflow); at ``T = 0`` a step function with ``f(E_F) = 1/2``.
    """
    energy = np.asarray(energy, dtype=np.float64)
    kt = thermal_energy(temperature)
    if kt == 0.0:
        return np.where(energy < fermi_energy, 1.0, np.where(energy > fermi_energy, 0.0, 0.5))
    return expit(-(energy - fermi_energy) / kt)


def entropy_integrand(
    energy: np.ndarray | float, fermi_energy: float, temperature: float
) -> np.ndarray:
    """``s(E) = f ln f + (1 - f) ln(1 - f)`` (dimensionless, <= 0).

    ``-T S = k_B T \\int D(E) s(E) dE``. Zero at ``T = 0``.
    Computed as ``-log(1 + e^{-|x|}) - |x| / (1 + e^{|x|})`` with ``x = (E - E_F)/k_B T``,
    which never forms ``log 0``.
    """
    energy = np.asarray(energy, dtype=np.float64)
    kt = thermal_energy(temperature)
    if kt == 0.0:
        return np.zeros_like(energy)
    ax = np.abs(energy - fermi_energy) / kt
    return -np.log1p(np.exp(-ax)) - ax * expit(-ax)


def entropy_integrand_from_occupation(f: np.ndarray) -> np.ndarray:
    """``f ln f + (1 - f) ln(1 - f)`` for occupations in [0, 1] (0 ln 0 = 0)."""
    f = np.asarray(f, dtype=np.float64)
    return xlogy(f, f) + xlogy(1.0 - f, 1.0 - f)
