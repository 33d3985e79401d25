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

from .. import physics
from ..physics.constants import MEV_PER_EV
from .errors import DataError
from .snapshot import Snapshot


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
    obs, fell_back = physics.observables_or_fallback(rows, fallback_fermi_energy=fallback_fermi_energy, **kwargs)
    fallback = float(fell_back)
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
    """Valence charge of every atom (e)."""
    return np.array([float(snapshot.valence_charges[s]) for s in snapshot.atoms.get_chemical_symbols()])


def total_energy_missing(snapshot: Snapshot) -> str | None:
    """Why the total free energy of ``snapshot`` cannot be computed, with the fix (None if it can)."""
    if snapshot.atoms is None:
        return (f"snapshot {snapshot.name}: no atoms (add \"atoms\" to {snapshot.name}.info.json or put the pw.x "
                f"output next to it as {snapshot.name}.out)")
    missing = sorted(set(snapshot.atoms.get_chemical_symbols()) - set(snapshot.valence_charges))
    if missing:
        example = ",".join(f"{s}:<e>" for s in missing)
        return (f"snapshot {snapshot.name}: no valence charge for {missing} (none in the sidecar, the pw.x output "
                f"or a UPF file next to the snapshots); add 'data.valence_charges={{{example}}}'")
    return None


def can_compute_total_energy(snapshot: Snapshot) -> bool:
    """Total free energy needs atoms and valence charges for every species."""
    return total_energy_missing(snapshot) is None


class EnergyEvaluator:
    """Errors of predicted LDOS against the DFT LDOS for a list of snapshots.

    Reference energies are computed once at construction.
    """

    def __init__(self, snapshots: Sequence[Snapshot], *, total_energy: bool = False) -> None:
        self.snapshots = list(snapshots)
        self.total_energy = total_energy
        #: why the total free energy is not reported (None when it is, or was not asked for)
        self.total_energy_missing = next((m for s in self.snapshots if (m := total_energy_missing(s))), None) \
            if total_energy else None
        self.references = []
        for s in self.snapshots:
            try:
                self.references.append(snapshot_energies(s, np.asarray(s.ldos), total_energy=total_energy))
            except ValueError as e:
                raise DataError(f"snapshot {s.name} ({s.path}.out.npy): its DFT LDOS gives no reference energies "
                                f"({e}); check the LDOS (all zero? negative?) and the electron count") from None

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
        out["fermi_energy_mae_mev"] = float(np.mean(np.abs(fermi))) if fermi else None
        if self.total_energy_missing:
            out["total_free_energy_missing"] = self.total_energy_missing
        return out
