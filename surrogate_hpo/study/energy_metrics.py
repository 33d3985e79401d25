"""Energy errors of a predicted LDOS against the DFT LDOS, per atom (meV/atom).

The reference is the same observable computed from the DFT LDOS with the same physics
(self-consistent Fermi level, piecewise-linear integration), so the error measures the
network alone, as MALA's tester does. The DFT code's own values are compared with the DFT
LDOS separately (``benchmarks/dft_consistency.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..data.snapshot import Snapshot
from .. import physics

MEV_PER_EV = 1000.0


def snapshot_energies(snapshot: Snapshot, ldos: np.ndarray, *, total_energy: bool) -> dict[str, float]:
    """Band energy, Fermi level (and total free energy if asked and possible) in eV.

    ``ldos`` is the snapshot's LDOS (predicted or DFT), ``(n_points, nE)`` or gridded,
    in 1/(eV·Å³).
    """
    rows = np.asarray(ldos, dtype=np.float64).reshape(-1, snapshot.n_energies)
    obs = physics.observables(
        rows,
        energy_grid=snapshot.energy_grid,
        voxel_volume=snapshot.voxel_volume,
        temperature=snapshot.temperature,
        n_electrons=snapshot.n_electrons,
    )
    out = {"band_energy": float(obs["band_energy"]), "fermi_energy": float(obs["fermi_energy"])}
    if total_energy and can_compute_total_energy(snapshot):
        terms = physics.total_free_energy(
            rows.reshape(*snapshot.grid_shape, snapshot.n_energies),
            energy_grid=snapshot.energy_grid,
            voxel=snapshot.voxel,
            cell=np.asarray(snapshot.atoms.cell[:]),
            positions=snapshot.atoms.get_positions(),
            valence_charges=valence_charges(snapshot),
            temperature=snapshot.temperature,
            n_electrons=snapshot.n_electrons,
        )
        out["total_free_energy"] = float(terms["total"])
    return out


def valence_charges(snapshot: Snapshot) -> np.ndarray:
    """Valence charge of every atom (e), from the sidecar's ``valence_charges``."""
    table = snapshot.info.get("valence_charges") or {}
    return np.array([float(table[s]) for s in snapshot.atoms.get_chemical_symbols()])


def can_compute_total_energy(snapshot: Snapshot) -> bool:
    """Total free energy needs atoms and valence charges for every species."""
    if snapshot.atoms is None or not hasattr(physics, "total_free_energy"):
        return False
    table = snapshot.info.get("valence_charges") or {}
    return all(s in table for s in set(snapshot.atoms.get_chemical_symbols()))


class EnergyEvaluator:
    """Errors of predicted LDOS against the DFT LDOS for a list of snapshots.

    Reference energies are computed once at construction.
    """

    def __init__(self, snapshots: Sequence[Snapshot], *, total_energy: bool = False) -> None:
        self.snapshots = list(snapshots)
        self.total_energy = total_energy
        self.references = [snapshot_energies(s, np.asarray(s.ldos), total_energy=total_energy) for s in self.snapshots]

    def errors(self, predict: Callable[[Snapshot], np.ndarray]) -> dict[str, Any]:
        """MAE over snapshots in meV/atom, plus per-snapshot signed errors.

        ``predict(snapshot)`` returns that snapshot's predicted LDOS in 1/(eV·Å³).
        """
        per: dict[str, list[float]] = {}
        for snap, ref in zip(self.snapshots, self.references):
            got = snapshot_energies(snap, predict(snap), total_energy=self.total_energy)
            n_atoms = max(snap.n_atoms, 1)
            for key in ("band_energy", "total_free_energy"):
                if key in got and key in ref:
                    per.setdefault(key, []).append((got[key] - ref[key]) / n_atoms * MEV_PER_EV)
        out: dict[str, Any] = {}
        for key, errs in per.items():
            out[f"{key}_mae_mev_per_atom"] = float(np.mean(np.abs(errs)))
            out[f"{key}_errors_mev_per_atom"] = [float(e) for e in errs]
        return out
