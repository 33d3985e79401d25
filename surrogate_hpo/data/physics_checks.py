"""Physics sanity of a snapshot set before any training: can these LDOS give energies?

For every snapshot, one pass over its LDOS (chunked) gives the DOS, the smallest value and
the share of negative LDOS; from the DOS follow the electron count the window can hold,
the Fermi level and band energy of the DFT LDOS, compared with the sidecar's or QE's values.

Refused (:class:`DataError`, before any compute): an all-zero LDOS; an LDOS window that
cannot hold the snapshot's electrons (no Fermi level exists); in a training snapshot,
negative LDOS beyond round-off. Warned about with the numbers (a coarse test may be what
the user wants): negative LDOS in a validation or test snapshot, an energy grid much
coarser than k_B T or than the LDOS broadening, a DFT-LDOS Fermi level, electron count or
band energy far from the DFT code's own values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..physics import K_B, band_energy, fermi_energy_from_dos, number_of_electrons
from ..physics.constants import MEV_PER_EV
from ..util.chunks import row_slices
from .errors import DataError
from .snapshot import ATOMS_UNKNOWN, Snapshot
from .snapshot_set import SnapshotSet

__all__ = ["PhysicsReport", "SnapshotPhysics", "check_physics", "LIMITS"]

#: thresholds of the checks (documented in README "Bring your MALA data")
LIMITS = {
    "negative_share": 1e-3,       # negative LDOS mass / total |LDOS| mass beyond round-off
    "spacing_over_kt": 10.0,      # energy-grid spacing / k_B T
    "spacing_over_broadening": 2.5,  # energy-grid spacing / LDOS broadening
    "electrons_rel": 0.02,        # |N(E_F, DFT) - N| / N
    "fermi_ev": 0.2,              # |E_F(LDOS) - E_F(DFT)|, eV
    "band_mev_per_atom": 50.0,    # |E_band(LDOS) - E_band(DFT)|, meV/atom
}
_CHUNK_ROWS = 1 << 15


@dataclass
class SnapshotPhysics:
    """The numbers of one snapshot's checks (eV, meV/atom; None where an input is missing)."""

    name: str
    split: str
    ldos_min: float
    negative_share: float
    electron_capacity: float
    n_electrons: float
    fermi_energy_ldos: float | None = None
    fermi_energy_dft: float | None = None
    electrons_at_dft_fermi: float | None = None
    band_energy_ldos: float | None = None
    band_energy_dft: float | None = None
    band_energy_difference_mev_per_atom: float | None = None


@dataclass
class PhysicsReport:
    """Per-snapshot numbers, the energy grid against k_B T and broadening, and the warnings."""

    snapshots: list[SnapshotPhysics]
    grid: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"grid": self.grid, "warnings": self.warnings, "snapshots": [asdict(s) for s in self.snapshots]}

    def lines(self) -> list[str]:
        g = self.grid
        out = [f"[physics] energy grid spacing {g['spacing_ev']:g} eV = {g['spacing_over_kt']:.1f} k_B T"
               + (f" = {g['spacing_over_broadening']:.1f} x the LDOS broadening ({g['broadening_ev']:g} eV)"
                  if g.get("broadening_ev") else "")
               + f"; window {g['offset_ev']:g} .. {g['end_ev']:g} eV"]
        with_ref = [s for s in self.snapshots if s.fermi_energy_dft is not None and s.fermi_energy_ldos is not None]
        if with_ref:
            dfe = max(abs(s.fermi_energy_ldos - s.fermi_energy_dft) for s in with_ref)
            dn = max(abs(s.electrons_at_dft_fermi - s.n_electrons) / s.n_electrons for s in with_ref)
            out.append(f"[physics] DFT LDOS vs the DFT code: Fermi level within {dfe:.3f} eV, electrons at its "
                       f"Fermi level within {100 * dn:.2f} %")
        bands = [s for s in self.snapshots if s.band_energy_difference_mev_per_atom is not None]
        if bands:
            db = max(abs(s.band_energy_difference_mev_per_atom) for s in bands)
            out.append(f"[physics] band energy of the DFT LDOS vs the DFT code: within {db:.1f} meV/atom")
        out += [f"[physics] warning: {w}" for w in self.warnings]
        return out


def _pass(snapshot: Snapshot) -> tuple[np.ndarray, float, float, float]:
    """``(DOS 1/eV, min LDOS, negative mass, |LDOS| mass)`` in one chunked pass."""
    rows = np.asarray(snapshot.ldos).reshape(-1, snapshot.n_energies)
    dos = np.zeros(snapshot.n_energies)
    low, neg, total = math.inf, 0.0, 0.0
    for part in row_slices(rows.shape[0], _CHUNK_ROWS):
        chunk = np.asarray(rows[part], dtype=np.float64)
        dos += chunk.sum(axis=0)
        low = min(low, float(chunk.min()))
        neg += float(np.minimum(chunk, 0.0).sum())
        total += float(np.abs(chunk).sum())
    return dos * snapshot.voxel_volume, low, -neg, total


def _broadening(snapshot: Snapshot) -> float | None:
    """The LDOS broadening (eV) the sidecar records, if it does."""
    ldos = ((snapshot.info.get("provenance") or {}).get("ldos") or {})
    value = ldos.get("degauss_ldos_ev", snapshot.info.get("ldos_broadening_ev"))
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def check_snapshot(snapshot: Snapshot, split: str) -> tuple[SnapshotPhysics, list[str], list[str]]:
    """``(numbers, errors, warnings)`` of one snapshot."""
    grid, temp, n_el = snapshot.energy_grid, snapshot.temperature, snapshot.n_electrons
    dos, low, neg, total = _pass(snapshot)
    far = grid.end + grid.spacing + 60 * K_B * temp
    capacity = number_of_electrons(dos, grid, far, temp)
    share = neg / total if total > 0 else 0.0
    s = SnapshotPhysics(snapshot.name, split, low, share, capacity, n_el)
    errors: list[str] = []
    warnings: list[str] = []
    where = f"snapshot {snapshot.name} ({split})"
    if snapshot.atoms is None:
        errors.append(f"{where}: {ATOMS_UNKNOWN.format(path=snapshot.path)}")
    if total == 0:
        return s, [*errors, f"{where}: the LDOS is zero everywhere ({snapshot.path}.out.npy); regenerate it or drop the "
                   "snapshot"], warnings
    if share > LIMITS["negative_share"]:
        msg = (f"{where}: {100 * share:.2f} % of the LDOS mass is negative (min {low:.3g} 1/(eV Å³)), beyond "
               f"round-off ({100 * LIMITS['negative_share']:g} %)")
        (errors if split == "train" else warnings).append(msg + ("; a network trained on it learns nonsense" if
                                                                 split == "train" else ""))
    if capacity < n_el:
        errors.append(f"{where}: the LDOS window {grid.offset:g} .. {grid.end:g} eV holds {capacity:.3f} electrons, "
                      f"fewer than the snapshot's {n_el:g}: no Fermi level exists. Check the energy grid (offset "
                      f"from {snapshot.sources.get('energy_grid.offset', '?')}, spacing from "
                      f"{snapshot.sources.get('energy_grid.spacing', '?')}; data.energy_grid.offset / spacing) and "
                      "the LDOS units (1/(eV Å³))")
        return s, errors, warnings
    atoms = len(snapshot.atoms) if snapshot.atoms is not None else None
    try:
        s.fermi_energy_ldos = fermi_energy_from_dos(dos, grid, temp, n_el)
    except ValueError as exc:  # more electrons than n_el below the window: T or the voxel is off
        errors.append(f"{where}: no Fermi level in the LDOS window ({exc}). Check the temperature {temp:g} K "
                      f"({snapshot.sources.get('temperature', '?')}), the voxel ({snapshot.sources.get('voxel', '?')}) "
                      "and the LDOS units (1/(eV Å³))")
        return s, errors, warnings
    s.band_energy_ldos = band_energy(dos, grid, s.fermi_energy_ldos, temp)
    ref_ef = snapshot.reference.get("fermi_energy_dft")
    if ref_ef is not None:
        s.fermi_energy_dft = ref_ef
        s.electrons_at_dft_fermi = number_of_electrons(dos, grid, ref_ef, temp)
        rel = abs(s.electrons_at_dft_fermi - n_el) / n_el
        if rel > LIMITS["electrons_rel"]:
            warnings.append(f"{where}: the DFT LDOS holds {s.electrons_at_dft_fermi:.3f} electrons up to the DFT "
                            f"Fermi level {ref_ef:.3f} eV, not {n_el:g} ({100 * rel:.1f} % off)")
        if abs(s.fermi_energy_ldos - ref_ef) > LIMITS["fermi_ev"]:
            warnings.append(f"{where}: the Fermi level of the DFT LDOS is {s.fermi_energy_ldos:.3f} eV, the DFT "
                            f"code's {ref_ef:.3f} eV ({s.fermi_energy_ldos - ref_ef:+.3f} eV): energies from this "
                            "energy grid are not meaningful")
    ref_band = snapshot.reference.get("band_energy_dft_calculation")
    if ref_band is not None and atoms:
        s.band_energy_dft = ref_band
        s.band_energy_difference_mev_per_atom = (s.band_energy_ldos - ref_band) / atoms * MEV_PER_EV
        if abs(s.band_energy_difference_mev_per_atom) > LIMITS["band_mev_per_atom"]:
            warnings.append(f"{where}: band energy of the DFT LDOS {s.band_energy_ldos:.3f} eV vs the DFT code's "
                            f"{ref_band:.3f} eV ({s.band_energy_difference_mev_per_atom:+.1f} meV/atom)")
    return s, errors, warnings


def check_physics(sset: SnapshotSet) -> PhysicsReport:
    """Check every snapshot of ``sset``; DataError listing every refused snapshot."""
    first = sset.train[0]
    kt = K_B * first.temperature
    broadening = _broadening(first)
    grid = {"offset_ev": first.energy_grid.offset, "end_ev": first.energy_grid.end,
            "spacing_ev": first.energy_grid.spacing, "kt_ev": kt, "spacing_over_kt": first.energy_grid.spacing / kt,
            "broadening_ev": broadening,
            "spacing_over_broadening": first.energy_grid.spacing / broadening if broadening else None}
    warnings: list[str] = []
    if grid["spacing_over_kt"] > LIMITS["spacing_over_kt"]:
        warnings.append(f"the energy grid spacing {grid['spacing_ev']:g} eV is {grid['spacing_over_kt']:.0f} k_B T "
                        f"(k_B T = {kt:.4f} eV at {first.temperature:g} K): the Fermi-Dirac step falls inside one "
                        "grid interval")
    if broadening and grid["spacing_over_broadening"] > LIMITS["spacing_over_broadening"]:
        warnings.append(f"the energy grid spacing {grid['spacing_ev']:g} eV is {grid['spacing_over_broadening']:.1f}"
                        f" x the LDOS broadening {broadening:g} eV: the LDOS is sampled coarser than its structure")
    numbers, errors = [], []
    for split, snaps in sset.splits.items():
        for snap in snaps:
            s, errs, warns = check_snapshot(snap, split)
            numbers.append(s)
            errors += errs
            warnings += warns
    if errors:
        raise DataError("the data cannot be trained on:\n  " + "\n  ".join(errors))
    return PhysicsReport(numbers, grid, warnings)
