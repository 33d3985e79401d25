"""Predict the LDOS of a structure on a real-space grid, streamed to disk, and its energies."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.errors import DataError
from ..data.snapshot import (
    FALLBACK_ENERGY_GRID,
    Snapshot,
    load_snapshot,
    snapshot_array,
    snapshot_files,
)
from ..descriptors.bispectrum import slab_planes
from .energies import energy_errors, structure_energies
from .model import SurrogateModel, resolve_device

__all__ = ["Prediction", "StructureInput", "predict_structure", "read_structure"]


@dataclass
class StructureInput:
    """What to predict for: the atoms (Å) and, for a MALA snapshot, its grid, descriptors and
    DFT LDOS (the reference) with the snapshot's electron count and temperature (K)."""

    name: str
    atoms: Any
    grid: tuple[int, int, int] | None = None
    descriptors: np.ndarray | None = None
    reference_ldos: np.ndarray | None = None
    n_electrons: float | None = None
    temperature: float | None = None
    valence_charges: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Prediction:
    """The predicted LDOS ``(nx, ny, nz, nE)`` in 1/(eV·Å³) (a memmap when written to disk),
    its energies (eV), the reference's and the errors when there is a DFT reference."""

    name: str
    grid: tuple[int, int, int]
    ldos: np.ndarray
    energies: dict[str, Any]
    reference: dict[str, Any] | None
    errors: dict[str, float] | None
    seconds: dict[str, float]
    device: str
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        n = int(np.prod(self.grid))
        return {"structure": self.name, "grid": list(self.grid), "n_points": n, "device": self.device,
                "energies": self.energies, "reference": self.reference, "errors": self.errors,
                "seconds": self.seconds, "points_per_second": n / max(self.seconds.get("network", 0.0), 1e-12),
                "notes": self.notes}


def _load_mala_snapshot(path: Path, model: SurrogateModel) -> Snapshot:
    """A MALA folder keeps the energy grid in MALA's parameters: where the sidecar lacks it,
    the model's (the one it was trained on) stands in."""
    return load_snapshot(path, require_descriptors=False, fallback_energy_grid=model.energy_grid)


def read_structure(path: str | Path, model: SurrogateModel) -> StructureInput:
    """A MALA snapshot (``<dir>/<name>`` or one of its files) or any structure file ASE reads."""
    path = Path(path).expanduser()
    directory, name = snapshot_files(path)
    ldos_file, descriptor_file = snapshot_array(directory, name, "out"), snapshot_array(directory, name, "in")
    if ldos_file is not None or descriptor_file is not None:
        if ldos_file is None:
            raise DataError(f"{descriptor_file} has no {name}.out.npy beside it; give the structure file "
                            "itself (any format ASE reads) to predict without a reference")
        snap = _load_mala_snapshot(directory / name, model)
        if snap.atoms is None:
            raise DataError(f"snapshot {name}: no atoms in {name}.info.json or a QE output beside it")
        notes: list[str] = []
        ref = np.asarray(snap.ldos)
        if snap.energy_grid != model.energy_grid:
            notes.append(f"the snapshot's energy grid {snap.energy_grid} is not the model's {model.energy_grid}: "
                         "no comparison with its LDOS")
            ref = None
        elif snap.sources.get("energy_grid.offset") == FALLBACK_ENERGY_GRID:
            notes.append(f"{name} does not record its energy grid: the model's {model.energy_grid} is assumed")
        x = snap.descriptors
        if x is not None and x.shape[-1] != model.n_in:
            notes.append(f"{descriptor_file.name} has {x.shape[-1]} descriptors, the model takes {model.n_in}: "
                         "computing them")
            x = None
        return StructureInput(name=name, atoms=snap.atoms, grid=snap.grid_shape, descriptors=x, reference_ldos=ref,
                              n_electrons=snap.n_electrons, temperature=snap.temperature,
                              valence_charges=dict(snap.valence_charges), notes=notes)
    if not path.is_file():
        raise DataError(f"{path}: no such structure file or MALA snapshot")
    import ase.io

    try:
        atoms = ase.io.read(str(path))
    except Exception as e:  # ASE raises many kinds for a file it cannot read
        raise DataError(f"{path}: ASE cannot read a structure from it ({type(e).__name__}: {e})") from None
    return StructureInput(name=path.stem, atoms=atoms)


def _slabs(model: SurrogateModel, atoms: Any, shape: tuple[int, int, int], memory_gb: float) -> list[tuple[int, int]]:
    """Planes of the third grid axis computed at once: all of them when LAMMPS' array fits in
    ``memory_gb`` GiB (or the cell allows no slabs), else slabs that do."""
    settings = model.descriptor_settings
    per = slab_planes(shape, settings.twojmax if settings else 0, memory_gb)
    cell = np.asarray(atoms.cell[:], dtype=float)
    perpendicular = abs(cell[2] @ cell[0]) < 1e-8 * np.linalg.norm(cell[2]) * np.linalg.norm(cell[0]) and \
        abs(cell[2] @ cell[1]) < 1e-8 * np.linalg.norm(cell[2]) * np.linalg.norm(cell[1])
    if per >= shape[2] or not perpendicular:
        return [(0, shape[2])]
    return [(k, min(k + per, shape[2])) for k in range(0, shape[2], per)]


def _check_room(n_bytes: int, ldos_path: Path | None, shape: tuple[int, ...]) -> None:
    """DataError before any work when the LDOS array fits neither the disk it goes to nor memory."""
    if ldos_path is not None:
        folder = next(p for p in (ldos_path.parent, *ldos_path.parents) if p.exists())
        room, where = shutil.disk_usage(folder).free, f"{folder} has"
    else:
        room, where = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine has"
    if n_bytes > room:
        raise DataError(f"the LDOS on grid {list(shape)} takes {n_bytes / 2**30:.3g} GiB; {where} "
                        f"{room / 2**30:.3g} GiB: give a coarser grid=[nx,ny,nz]")


def predict_structure(model: SurrogateModel, structure: StructureInput, *, grid: Sequence[int] | None = None,
                      ldos_path: Path | None = None, batch_points: int = 65536, device: str = "auto",
                      descriptor_memory_gb: float = 4.0, log: Callable[[str], None] = print) -> Prediction:
    """The LDOS of ``structure`` on ``grid`` (default: the snapshot's, else the training spacing),
    written to ``ldos_path`` (``.npy``, MALA's layout) batch by batch when given, and its energies.
    Descriptors are computed in slabs of grid planes when the whole grid would need more than
    ``descriptor_memory_gb`` GiB in LAMMPS (e.g. a 200^3 grid)."""
    atoms = structure.atoms
    model.check_species(atoms.get_chemical_symbols(), f"structure {structure.name}")
    notes = list(structure.notes)
    if grid is not None:
        grid = tuple(int(n) for n in grid)
        if structure.grid is not None and grid != structure.grid:
            notes.append(f"grid {list(grid)} instead of the snapshot's {list(structure.grid)}: no comparison with "
                         "its LDOS")
            structure.reference_ldos, structure.descriptors = None, None
    shape = tuple(grid or structure.grid or model.default_grid(atoms))
    if len(shape) != 3 or min(shape) < 1:
        raise DataError(f"grid={list(shape)} must be three positive integers")
    n_points = int(np.prod(shape))
    n_electrons = structure.n_electrons if structure.n_electrons is not None else model.n_electrons(atoms)
    valence = structure.valence_charges or model.valence_charges
    dev = str(resolve_device(device))
    seconds: dict[str, float] = {}

    _check_room(n_points * model.n_out * 4, ldos_path, shape)
    if ldos_path is not None:
        ldos_path.parent.mkdir(parents=True, exist_ok=True)
        ldos = np.lib.format.open_memmap(ldos_path, mode="w+", dtype=np.float32, shape=(*shape, model.n_out))
    else:
        ldos = np.empty((*shape, model.n_out), dtype=np.float32)
    slabs = [(0, shape[2])] if structure.descriptors is not None else \
        _slabs(model, atoms, shape, descriptor_memory_gb)
    seconds["descriptors"] = seconds["network"] = 0.0
    for number, (k0, k1) in enumerate(slabs, 1):
        t0 = time.perf_counter()
        if structure.descriptors is not None:
            x = structure.descriptors
        else:
            where = f" planes {k0}..{k1 - 1} ({number}/{len(slabs)})" if len(slabs) > 1 else ""
            log(f"[predict] descriptors of {structure.name} ({len(atoms)} atoms) on a {shape[0]}x{shape[1]}x{shape[2]} "
                f"grid{where} (LAMMPS)")
            x = model.descriptors(atoms, shape, planes=(k0, k1) if len(slabs) > 1 else None)
        seconds["descriptors"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        block = ldos[:, :, k0:k1]
        n_block = int(np.prod(block.shape[:3]))
        out = np.empty((n_block, model.n_out), dtype=np.float32) if len(slabs) > 1 else \
            block.reshape(n_block, model.n_out)
        step, next_report = max(1, n_points // 10), max(1, n_points // 10)
        for rows, batch in model.iter_ldos(x, batch_points=batch_points, device=dev):
            out[rows] = batch
            if len(slabs) == 1 and rows.stop >= next_report and n_points > batch_points:
                log(f"[predict] LDOS {rows.stop}/{n_points} points ({time.perf_counter() - t0:.1f} s, {dev})")
                next_report = rows.stop + step
        if len(slabs) > 1:
            block[...] = out.reshape(block.shape)
        del x
        seconds["network"] += time.perf_counter() - t0
    if isinstance(ldos, np.memmap):
        ldos.flush()
    flat = ldos.reshape(n_points, model.n_out)

    t0 = time.perf_counter()
    reference = None
    if structure.reference_ldos is not None:
        reference = structure_energies(structure.reference_ldos, atoms=atoms, grid_shape=shape,
                                       energy_grid=model.energy_grid,
                                       temperature=structure.temperature or model.temperature,
                                       n_electrons=n_electrons, valence_charges=valence)
    energies = structure_energies(flat, atoms=atoms, grid_shape=shape, energy_grid=model.energy_grid,
                                  temperature=structure.temperature or model.temperature, n_electrons=n_electrons,
                                  valence_charges=valence,
                                  fallback_fermi_energy=None if reference is None else reference["fermi_energy"])
    seconds["energies"] = time.perf_counter() - t0
    errors = None if reference is None else energy_errors(energies, reference)
    return Prediction(name=structure.name, grid=shape, ldos=ldos, energies=energies, reference=reference,
                      errors=errors, seconds=seconds, device=dev, notes=notes)


def describe_prediction(p: Prediction) -> list[str]:
    """The prediction as lines for the console (eV, meV/atom)."""
    e = p.energies
    n = int(np.prod(p.grid))
    lines = [f"structure       {p.name}: {e['n_atoms']} atoms, grid {p.grid[0]}x{p.grid[1]}x{p.grid[2]} ({n} points)",
             f"Fermi level     {e['fermi_energy']:.4f} eV" + (" (the reference's: the predicted LDOS cannot hold "
                                                                "the electrons)" if e["fermi_fallback"] else ""),
             f"electrons       {e['number_of_electrons']:.4f}",
             f"band energy     {e['band_energy']:.4f} eV",
             f"-TS             {e['entropy_contribution']:.6f} eV"]
    if e.get("total_free_energy") is not None:
        lines.append(f"free energy     {e['total_free_energy']:.4f} eV (total, LDA)")
    else:
        lines.append(f"free energy     n/a ({e.get('total_free_energy_missing')})")
    if p.errors:
        err = p.errors
        lines.append(f"vs DFT          band energy {err['band_energy_error_mev_per_atom']:+.3f} meV/atom, Fermi level "
                     f"{err['fermi_energy_error_mev']:+.2f} meV" + (
                         f", free energy {err['total_free_energy_error_mev_per_atom']:+.3f} meV/atom"
                         if "total_free_energy_error_mev_per_atom" in err else ""))
    lines.append(f"time            descriptors {p.seconds['descriptors']:.2f} s, network {p.seconds['network']:.2f} s "
                 f"({n / max(p.seconds['network'], 1e-12):.3g} points/s on {p.device}), energies "
                 f"{p.seconds['energies']:.2f} s")
    lines += [f"note            {note}" for note in p.notes]
    return lines


__all__ += ["describe_prediction"]
