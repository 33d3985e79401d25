"""A snapshot's ``<name>.info.json``: ours, or MALA's as its ``Target`` writes it.

Both layouts are read without edits: atoms as ``symbols`` or as ASE's ``numbers``
(MALA), the voxel as a 3x3 list or as ``{"array": 3x3}`` (MALA), energy terms in a
``qe_energy_terms`` block (ours) or as flat ``*_contribution`` keys (MALA), electrons as
``number_of_electrons_exact`` or ``electrons_per_atom`` x atoms. Units: eV, Å, K.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from .errors import DataError

__all__ = ["Sidecar", "atoms_from_dict", "read_sidecar", "sidecar_from_dict", "unknown_symbols"]

REFERENCE_KEYS = ("fermi_energy_dft", "band_energy_dft_calculation", "total_energy_dft_calculation")
#: MALA's flat keys -> our energy-term names
_MALA_TERMS = {"one_electron_contribution": "one_electron", "hartree_contribution": "hartree",
               "xc_contribution": "xc", "ewald_contribution": "ewald",
               "entropy_contribution_dft_calculation": "smearing"}


def unknown_symbols(symbols: Sequence[Any]) -> list[Any]:
    """The entries of ``symbols`` that are not chemical element symbols (``Al``, ``Mg``, ...)."""
    return [s for s in symbols if s not in chemical_symbols[1:]]


def atoms_from_dict(d: Any, where: str = "atoms") -> Atoms:
    """An ``ase.Atoms`` from ``{symbols | numbers, positions (Å), cell (Å), pbc}``."""
    if not isinstance(d, Mapping):
        raise DataError(f"{where}: \"atoms\" must be an object with symbols or numbers, positions and cell, "
                        f"got {type(d).__name__}")
    species = d.get("symbols", d.get("numbers"))
    if species is None:
        raise DataError(f"{where}: \"atoms\" needs \"symbols\" (e.g. [\"Al\", ...]) or \"numbers\" "
                        f"(atomic numbers, as MALA writes); it has {sorted(d)}")
    kind = "symbols" if "symbols" in d else "numbers"
    unknown = unknown_symbols(species) if kind == "symbols" and isinstance(species, list) else []
    if unknown:
        raise DataError(f"{where}: \"atoms\" symbols {sorted(set(map(str, unknown)))} are not chemical "
                        "element symbols (e.g. Al, Mg)")
    try:
        positions = np.asarray(d["positions"], dtype=float)
        atoms = Atoms(**{kind: list(species)}, positions=positions, cell=np.asarray(d["cell"], dtype=float),
                      pbc=d.get("pbc", True))
    except Exception as exc:
        raise DataError(f"{where}: \"atoms\" must hold {'symbols' if 'symbols' in d else 'numbers'}, positions (Å) "
                        f"and cell (Å) of matching lengths ({type(exc).__name__}: {exc})") from None
    if not np.all(np.isfinite(atoms.get_positions())) or not np.all(np.isfinite(atoms.cell.array)):
        raise DataError(f"{where}: \"atoms\" positions and cell must be finite numbers")
    return atoms


_FIX = {"temperature": "; fix the sidecar or add data.temperature=<K>",
        "number_of_electrons_exact": "; fix the sidecar or add data.n_electrons=<count>",
        "electrons_per_atom": "; fix the sidecar or add data.n_electrons=<count>"}


def _number(info: Mapping[str, Any], key: str, where: Path) -> float | None:
    v = info.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise DataError(f"{where}: \"{key}\" must be a finite number, got {v!r}{_FIX.get(key, '')}")
    return float(v)


def _voxel(value: Any, where: Path) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, Mapping):  # MALA: ase.Cell.todict() -> {"array": 3x3}
        if "array" not in value:
            raise DataError(f"{where}: \"voxel\" as an object needs \"array\" (3x3 Å), got keys {sorted(value)}")
        value = value["array"]
    try:
        vox = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{where}: \"voxel\" must be 3x3 numbers (Å, one grid step per row), got {value!r}") from None
    if vox.shape != (3, 3) or not np.all(np.isfinite(vox)):
        raise DataError(f"{where}: \"voxel\" must be 3x3 finite numbers (Å, one grid step per row), got shape "
                        f"{vox.shape}")
    return vox


@dataclass
class Sidecar:
    """What a sidecar states; every field None (or empty) when it is silent."""

    path: Path
    raw: dict[str, Any] = field(default_factory=dict)
    atoms: Atoms | None = None
    voxel: np.ndarray | None = None
    energy_grid: dict[str, Any] = field(default_factory=dict)
    temperature: float | None = None
    n_electrons: float | None = None
    grid_dimensions: tuple[int, int, int] | None = None
    valence_charges: dict[str, float] = field(default_factory=dict)
    pseudopotentials: dict[str, str] = field(default_factory=dict)
    references: dict[str, float] = field(default_factory=dict)
    energy_terms: dict[str, float] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return bool(self.raw)


def read_sidecar(path: Path) -> Sidecar:
    """The sidecar at ``path`` (an empty :class:`Sidecar` when there is no file)."""
    path = Path(path)
    if not path.exists():
        return Sidecar(path)
    if not path.is_file():
        raise DataError(f"{path}: not a regular file (a folder or a broken link); remove it or replace it "
                        "with the snapshot's JSON sidecar")
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise DataError(f"{path}: sidecar is not valid JSON ({type(exc).__name__}: {exc}). Fix or remove the "
                        "file.") from None
    if not isinstance(info, dict):
        raise DataError(f"{path}: sidecar must hold a JSON object, got {type(info).__name__}.")
    return sidecar_from_dict(info, path)


def sidecar_from_dict(info: dict[str, Any], path: Path) -> Sidecar:
    """What the sidecar keys ``info`` state (read from ``path``: a sidecar, or the metadata of
    MALA's openPMD file)."""
    out = Sidecar(path, raw=info)
    if info.get("atoms") is not None:
        out.atoms = atoms_from_dict(info["atoms"], str(path))
    out.voxel = _voxel(info.get("voxel"), path)
    grid = info.get("energy_grid")
    if grid is not None:
        if not isinstance(grid, Mapping):
            raise DataError(f"{path}: \"energy_grid\" must be {{offset: eV, spacing: eV, n: count}}, got {grid!r}")
        out.energy_grid = {k: _number(grid, k, path) for k in ("offset", "spacing", "n") if grid.get(k) is not None}
    out.temperature = _number(info, "temperature", path)
    out.n_electrons = _number(info, "number_of_electrons_exact", path)
    per_atom = _number(info, "electrons_per_atom", path)
    if out.n_electrons is None and per_atom is not None and out.atoms is not None:
        out.n_electrons = per_atom * len(out.atoms)
    dims = info.get("grid_dimensions")
    if dims is not None:
        try:
            out.grid_dimensions = tuple(int(d) for d in dims)  # type: ignore[assignment]
        except (TypeError, ValueError):
            raise DataError(f"{path}: \"grid_dimensions\" must be [nx, ny, nz], got {dims!r}") from None
    charges = info.get("valence_charges")
    if isinstance(charges, Mapping):
        out.valence_charges = {str(k): _number(charges, k, path) for k in charges}
        bad = {k: v for k, v in out.valence_charges.items() if v is None or v <= 0}
        if bad:
            raise DataError(f"{path}: \"valence_charges\" must be positive numbers (e per atom), got {bad}; fix the "
                            "sidecar or add data.valence_charges={<element>: <charge>}")
    elif per_atom is not None and out.atoms is not None and len(set(out.atoms.get_chemical_symbols())) == 1:
        out.valence_charges = {out.atoms.get_chemical_symbols()[0]: per_atom}  # one element: electrons per atom
    pseudo = info.get("pseudopotentials")
    if isinstance(pseudo, Mapping):
        out.pseudopotentials = {str(k).strip(): str(v).strip() for k, v in pseudo.items()}
    for key in REFERENCE_KEYS:
        if (v := _number(info, key, path)) is not None:
            out.references[key] = v
    terms = info.get("qe_energy_terms")
    if isinstance(terms, Mapping):
        out.energy_terms = {str(k): v for k in terms if (v := _number(terms, k, path)) is not None}
    for mala, ours in _MALA_TERMS.items():
        if (v := _number(info, mala, path)) is not None:
            out.energy_terms.setdefault(ours, v)
    return out
