"""Observables of an LDOS on the grid of one structure (eV, K), chunked so that an LDOS on
disk (a memmap) is never loaded whole."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import physics
from ..physics.constants import MEV_PER_EV
from ..physics.energy_grid import EnergyGrid

__all__ = ["energy_errors", "structure_energies"]


def structure_energies(ldos: np.ndarray, *, atoms: Any, grid_shape: Sequence[int], energy_grid: EnergyGrid,
                       temperature: float, n_electrons: float, valence_charges: Mapping[str, float] | None,
                       fallback_fermi_energy: float | None = None) -> dict[str, Any]:
    """Fermi level, electron count, band energy, ``-TS`` and (with valence charges) the total
    free energy of ``ldos`` ``(n_points, nE)`` in 1/(eV·Å³), eV each, plus per-atom values
    (meV/atom). The Fermi level is solved for ``n_electrons``; if the LDOS cannot hold them
    and ``fallback_fermi_energy`` is given, that level is used (``fermi_fallback`` 1)."""
    cell = np.asarray(atoms.cell[:], dtype=np.float64)
    shape = tuple(int(n) for n in grid_shape)
    voxel = cell / np.asarray(shape, dtype=np.float64)[:, None]
    rows = ldos.reshape(-1, energy_grid.n)  # a view: a memmap stays on disk
    kwargs = dict(energy_grid=energy_grid, voxel_volume=float(abs(np.linalg.det(voxel))), temperature=temperature,
                  n_electrons=n_electrons)
    obs, fell_back = physics.observables_or_fallback(rows, fallback_fermi_energy=fallback_fermi_energy, **kwargs)
    fallback = int(fell_back)
    n_atoms = len(atoms)
    out: dict[str, Any] = {"fermi_energy": float(obs["fermi_energy"]), "fermi_fallback": fallback,
                           "number_of_electrons": float(obs["number_of_electrons"]),
                           "band_energy": float(obs["band_energy"]),
                           "entropy_contribution": float(obs["entropy_contribution"]), "n_atoms": n_atoms}
    symbols = atoms.get_chemical_symbols()
    missing = sorted(set(symbols) - set(valence_charges or {}))
    if missing:
        out["total_free_energy"] = None
        out["total_free_energy_missing"] = f"no valence charge for {missing}"
    else:
        w = physics.integration_weights(energy_grid, out["fermi_energy"], temperature)
        density = physics.apply_weights(rows, w.occupation).reshape(shape)
        terms = physics.free_energy_terms(
            band=float(np.asarray(obs["dos"]) @ w.band_energy),
            entropy=physics.thermal_energy(temperature) * float(np.asarray(obs["dos"]) @ w.entropy),
            density=density, cell=cell, positions=atoms.get_positions(),
            atom_valence=np.array([float(valence_charges[s]) for s in symbols]))
        out["total_free_energy"] = float(terms["total"])
        out["energy_terms"] = {k: float(v) for k, v in terms.items()}
    for key in ("band_energy", "total_free_energy"):
        if out.get(key) is not None:
            out[f"{key}_mev_per_atom"] = out[key] / n_atoms * MEV_PER_EV
    return out


def energy_errors(predicted: dict[str, Any], reference: dict[str, Any]) -> dict[str, float]:
    """Predicted minus reference: band and total free energy in meV/atom, Fermi level in meV."""
    n = max(int(reference["n_atoms"]), 1)
    out = {"fermi_energy_error_mev": (predicted["fermi_energy"] - reference["fermi_energy"]) * MEV_PER_EV,
           "band_energy_error_mev_per_atom": (predicted["band_energy"] - reference["band_energy"]) / n * MEV_PER_EV}
    if predicted.get("total_free_energy") is not None and reference.get("total_free_energy") is not None:
        out["total_free_energy_error_mev_per_atom"] = (
            (predicted["total_free_energy"] - reference["total_free_energy"]) / n * MEV_PER_EV)
    return out
