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


def snapshot_energies(snapshot: Snapshot, ldos: np.ndarray, *, total_energy: bool,
                      fallback_fermi_energy: float | None = None) -> dict[str, float]:
    """Band energy, Fermi level (and total free energy if asked and possible) in eV.

    ``ldos`` is the snapshot's LDOS (predicted or DFT), ``(n_points, nE)`` or gridded,
    in 1/(eV·Å³). The Fermi level is solved for the electron count; when the LDOS cannot
    hold that many electrons (e.g. an untrained network) and ``fallback_fermi_energy`` is
    given, that level is used instead and ``fermi_fallback`` is 1 in the result.
    """
    rows = np.asarray(ldos, dtype=np.float64).reshape(-1, snapshot.n_energies)
    kwargs = dict(energy_grid=snapshot.energy_grid, voxel_volume=snapshot.voxel_volume,
                  temperature=snapshot.temperature, n_electrons=snapshot.n_electrons)
    fallback = 0.0
    try:
        obs = physics.observables(rows, **kwargs)
    except ValueError:
        if fallback_fermi_energy is None:
            raise
        obs = physics.observables(rows, **kwargs, fermi_energy=fallback_fermi_energy)
        fallback = 1.0
    out = {"band_energy": float(obs["band_energy"]), "fermi_energy": float(obs["fermi_energy"]),
           "fermi_fallback": fallback}
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
            fermi_energy=out["fermi_energy"],
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

        Keys: ``band_energy_mae_mev_per_atom``, ``total_free_energy_mae_mev_per_atom`` (if
        computed), ``fermi_energy_mae_mev`` (meV, not per atom), ``*_errors_mev_per_atom`` lists, and ``fermi_fallbacks`` (snapshots whose predicted
        LDOS could not hold the electrons; their energies use the reference Fermi level).

        ``predict(snapshot)`` returns that snapshot's predicted LDOS in 1/(eV·Å³).
        """
        per: dict[str, list[float]] = {}
        fermi: list[float] = []
        for snap, ref in zip(self.snapshots, self.references):
            got = snapshot_energies(snap, predict(snap), total_energy=self.total_energy,
                                    fallback_fermi_energy=ref["fermi_energy"])
            per.setdefault("fermi_fallback", []).append(got["fermi_fallback"])
            n_atoms = max(snap.n_atoms, 1)
            fermi.append((got["fermi_energy"] - ref["fermi_energy"]) * MEV_PER_EV)
            for key in ("band_energy", "total_free_energy"):
                if key in got and key in ref:
                    per.setdefault(key, []).append((got[key] - ref[key]) / n_atoms * MEV_PER_EV)
        out: dict[str, Any] = {"fermi_fallbacks": int(sum(per.pop("fermi_fallback", [])))}
        for key, errs in per.items():
            out[f"{key}_mae_mev_per_atom"] = float(np.mean(np.abs(errs)))
            out[f"{key}_errors_mev_per_atom"] = [float(e) for e in errs]
        out["fermi_energy_mae_mev"] = float(np.mean(np.abs(fermi))) if fermi else float("nan")
        return out
