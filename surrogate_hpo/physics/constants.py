"""Physical constants in the package's units (eV, Å, K)."""

from __future__ import annotations

from .fermi import K_B

E2 = 14.399645
"""``e^2 / (4 pi eps0)`` in eV Å (Coulomb energy of two elementary charges 1 Å apart)."""

BOHR = 0.529177210903
"""Bohr radius in Å (CODATA 2018)."""

HARTREE = 27.211386245988
"""Hartree energy in eV (CODATA 2018); 1 Ry = HARTREE / 2."""

RYDBERG = HARTREE / 2.0
"""Rydberg energy in eV."""

MEV_PER_EV = 1000.0
"""meV in one eV (errors are reported in meV/atom)."""

__all__ = ["BOHR", "E2", "HARTREE", "K_B", "MEV_PER_EV", "RYDBERG"]
