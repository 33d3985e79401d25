"""One MALA snapshot: descriptors and LDOS on a real-space grid, plus its metadata.

Files of a snapshot ``<dir>/<name>``:

* ``<name>.in.npy``  float32 ``(nx, ny, nz, 3 + F)``: grid coordinates (Å), then F descriptors
  (or ``(nx, ny, nz, F)``, MALA's ``descriptors_contain_xyz=False``: see :mod:`.coordinates`).
* ``<name>.out.npy`` float32 ``(nx, ny, nz, nE)``: LDOS in 1/(eV·Å³) on the energy grid.
* ``<name>.info.json`` (optional): metadata sidecar (keys: README, "Sidecar").
* a ``pw.x`` output (optional): ``qe_output=`` or ``<name>.pw.out`` / ``.scf.out`` / ``.out`` (MALA's name).

Metadata precedence, key by key: explicit argument > sidecar > QE output.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from ..physics.energy_grid import EnergyGrid
from .coordinates import columns_are_coordinates
from .errors import OVERRIDE_KEYS, DataError
from .openpmd import (
    OPENPMD_SUFFIXES,
    is_openpmd,
    read_openpmd_array,
    read_openpmd_metadata,
)
from .qe_output import QEOutput, read_qe_output
from .sidecar import REFERENCE_KEYS, Sidecar, read_sidecar, sidecar_from_dict
from .valence import find_pseudopotential, upf_valence

__all__ = ["Snapshot", "load_snapshot", "snapshot_files", "snapshot_array", "is_snapshot_array", "count_nonfinite",
           "QE_OUTPUT_SUFFIXES", "ARRAY_ROLES", "METADATA_ROLES", "FALLBACK_ENERGY_GRID", "ATOMS_UNKNOWN"]

#: Suffixes tried, in order, to find a snapshot's pw.x output next to its arrays.
QE_OUTPUT_SUFFIXES = (".pw.out", ".scf.out", ".pwout", ".qe.out", ".out")
_SUFFIXES = (".in.npy", ".out.npy", ".in.h5", ".out.h5", ".in.bp", ".out.bp", ".info.json")
#: Roles in :attr:`Snapshot.files` of the arrays, and of the files metadata come from.
ARRAY_ROLES = ("descriptors", "ldos")
METADATA_ROLES = ("sidecar", "qe_output")
#: how to supply a snapshot's atoms (energies are per atom); ``path`` is ``<dir>/<name>``
ATOMS_UNKNOWN = ("the number of atoms is unknown (energies are given per atom): add \"atoms\" to {path}.info.json, "
                 "or put the snapshot's pw.x output next to its arrays as {path}.pw.out")
#: :attr:`Snapshot.sources` entry of energy-grid keys taken from ``fallback_energy_grid``
FALLBACK_ENERGY_GRID = "fallback energy_grid"
_CHUNK_BYTES = 64 * 2**20


@dataclass(eq=False)
class Snapshot:
    """A loaded snapshot (compared by identity: arrays have no single truth value).

    Attributes:
        name: snapshot name (file stem without ``.in.npy``).
        descriptors: ``(nx, ny, nz, F)``, coordinates dropped; a memmap view when loaded lazily;
            None for a snapshot loaded without descriptors (``require_descriptors=False``).
        ldos: ``(nx, ny, nz, nE)`` in 1/(eV·Å³).
        energy_grid: energies of the LDOS last axis (eV).
        voxel: ``(3, 3)`` Å, one grid step per row.
        atoms: the structure (Å), or None if no source gave it.
        temperature: electronic temperature (K).
        n_electrons: number of valence electrons in the cell.
        reference: DFT reference values (eV), keys among ``fermi_energy_dft``,
            ``band_energy_dft_calculation``, ``total_energy_dft_calculation``.
        info: the raw sidecar (empty if there was none).
        path: ``<dir>/<name>`` the snapshot was loaded from, if any.
        sources: where each metadata value came from (``"argument"``, a file path, ...).
        qe_output: the parsed pw.x output (energy terms, smearing, FFT grid), if one was read.
        valence_charges: valence charge per species (e), needed for the total free energy;
            empty when no source gave it.
        files: every file read, by role (``descriptors``, ``ldos``, ``sidecar``, ``qe_output``).
        replaced: metadata an argument replaced although the snapshot's own files state
            another value: key -> that value and its file.
    """

    name: str
    descriptors: np.ndarray | None
    ldos: np.ndarray
    energy_grid: EnergyGrid
    voxel: np.ndarray
    atoms: Atoms | None
    temperature: float
    n_electrons: float
    reference: dict[str, float] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    path: Path | None = None
    sources: dict[str, str] = field(default_factory=dict)
    qe_output: QEOutput | None = None
    valence_charges: dict[str, float] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    replaced: dict[str, str] = field(default_factory=dict)

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        """``(nx, ny, nz)``."""
        return tuple(self.ldos.shape[:3])  # type: ignore[return-value]

    @property
    def n_points(self) -> int:
        """Number of grid points."""
        return int(np.prod(self.grid_shape))

    @property
    def n_features(self) -> int:
        """Descriptors per grid point (F); 0 without descriptors."""
        return 0 if self.descriptors is None else int(self.descriptors.shape[-1])

    @property
    def n_energies(self) -> int:
        """LDOS values per grid point (nE)."""
        return int(self.ldos.shape[-1])

    @property
    def voxel_volume(self) -> float:
        """Volume of one grid cell (Å³)."""
        return float(abs(np.linalg.det(self.voxel)))

    @property
    def n_atoms(self) -> int:
        """Number of atoms; raises :class:`DataError` if the structure is unknown."""
        if self.atoms is None:
            raise DataError(f"snapshot {self.name!r}: {ATOMS_UNKNOWN.format(path=self.path)}")
        return len(self.atoms)

    def __repr__(self) -> str:
        return (f"Snapshot({self.name!r}, grid={self.grid_shape}, F={self.n_features}, "
                f"nE={self.n_energies}, T={self.temperature:g} K, N_e={self.n_electrons:g})")


def snapshot_files(path: str | Path) -> tuple[Path, str]:
    """``(directory, name)`` of a snapshot given ``<dir>/<name>`` or one of its files."""
    path = Path(path)
    name = path.name
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path.parent, name


def count_nonfinite(array: np.ndarray, chunk_bytes: int = _CHUNK_BYTES) -> int:
    """Number of NaN/inf values, read in slabs along the first axis.

    Works on non-contiguous memmap views (e.g. ``x[..., 3:]``) without copying the whole
    array: only one slab of about ``chunk_bytes`` is in memory at a time.
    """
    if array.size == 0 or not np.issubdtype(array.dtype, np.floating):
        return 0
    if array.ndim == 0:
        return int(not np.isfinite(array))
    slab_bytes = max(1, array[:1].size * array.itemsize)
    step = max(1, chunk_bytes // slab_bytes)
    bad = 0
    for start in range(0, array.shape[0], step):
        chunk = array[start:start + step]
        bad += int(chunk.size - np.count_nonzero(np.isfinite(chunk)))
    return bad


def snapshot_array(directory: Path, name: str, kind: str) -> Path | None:
    """The ``kind`` (``in``/``out``) array of snapshot ``name``: ``<name>.<kind>.npy``, or MALA's
    openPMD ``<name>.<kind>.h5`` / ``.bp`` when there is no ``.npy``; None when there is none."""
    npy = directory / f"{name}.{kind}.npy"
    if npy.exists():
        return npy
    return next((p for p in (directory / f"{name}.{kind}{ext}" for ext in OPENPMD_SUFFIXES) if is_openpmd(p)), None)


def is_snapshot_array(path: Path) -> bool:
    """A ``.npy`` file, or an openPMD file (HDF5) or folder (ADIOS2)."""
    return is_openpmd(path) if path.suffix in OPENPMD_SUFFIXES else path.is_file()


def _check_npy_header(path: Path, what: str) -> None:
    """A NumPy header with a numeric dtype, read before the array (nothing is unpickled)."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    try:
        with open(path, "rb") as fh:
            if fh.read(6) != b"\x93NUMPY":
                dtype, problem = None, "not a .npy file (no NumPy header)"
            else:
                fh.seek(0)
                version = np.lib.format.read_magic(fh)
                dtype, problem = (readers[version](fh)[2] if version in readers else None), None
    except OSError as exc:
        raise DataError(f"{path}: cannot open the {what} file ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # the header is a Python literal: ValueError, SyntaxError, tokenize's errors
        dtype, problem = None, f"its NumPy header is damaged ({type(exc).__name__}: {exc})"
    if problem:
        raise DataError(f"{path}: {problem}; the {what} array must be a file written by numpy.save")
    if dtype is not None and dtype.hasobject:
        raise DataError(f"{path}: the {what} array holds Python objects (a pickle), which are never loaded; "
                        "save a float32 array with numpy.save")


def _load_array(path: Path, what: str, mmap: bool) -> np.ndarray:
    if path.suffix in OPENPMD_SUFFIXES:
        return read_openpmd_array(path, what)
    _check_npy_header(path, what)
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except Exception as exc:
        raise DataError(f"{path}: cannot read the {what} array ({type(exc).__name__}: {exc}). "
                        "It must be a .npy file written by numpy.save.") from exc


def _find_qe_output(directory: Path, name: str) -> Path | None:
    for suffix in QE_OUTPUT_SUFFIXES:
        candidate = directory / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _pick(candidates: list[tuple[Any, str]]) -> tuple[Any, str | None]:
    """First candidate whose value is not None, with its source."""
    for value, source in candidates:
        if value is not None:
            return value, source
    return None, None


def _energy_grid(arg: EnergyGrid | Mapping | None, side_d: Mapping, sidecar: Path, n_ldos: int,
                 out_path: Path, missing: list[str], sources: dict[str, str],
                 fallback: EnergyGrid | None = None) -> EnergyGrid | None:
    arg_d: Mapping = arg.to_dict() if isinstance(arg, EnergyGrid) else (arg or {})
    fallback_d: Mapping = fallback.to_dict() if fallback is not None else {}
    values: dict[str, Any] = {}
    for key in ("offset", "spacing", "n"):
        values[key], sources[f"energy_grid.{key}"] = _pick(
            [(arg_d.get(key), "argument energy_grid"), (side_d.get(key), str(sidecar)),
             (fallback_d.get(key) if key != "n" else None, FALLBACK_ENERGY_GRID)])
    if values["n"] is None:
        values["n"], sources["energy_grid.n"] = n_ldos, f"last axis of {out_path.name}"
    elif int(values["n"]) != n_ldos:
        raise DataError(
            f"{out_path}: LDOS has {n_ldos} energies (last axis), but the energy grid has "
            f"n={int(values['n'])} (from {sources['energy_grid.n']}). Regenerate the LDOS or fix "
            f"the energy grid (override: {OVERRIDE_KEYS['energy_grid.n']}).")
    for key in ("offset", "spacing"):
        if values[key] is None:
            missing.append(f"energy_grid.{key}")
    if any(m.startswith("energy_grid") for m in missing):
        return None
    try:
        return EnergyGrid(offset=float(values["offset"]), spacing=float(values["spacing"]),
                          n=int(values["n"]))
    except ValueError as exc:
        raise DataError(f"{out_path}: invalid energy grid {values} "
                        f"(from {sources['energy_grid.offset']}): {exc}") from exc


def _valence_charges(arg: Mapping[str, float] | None, side: Sidecar, qe: QEOutput | None, atoms: Atoms | None,
                     directory: Path, sources: dict[str, str]) -> dict[str, float]:
    """Valence charge per species: argument > sidecar > pw.x output > the UPF files named there."""
    species = sorted(set(atoms.get_chemical_symbols())) if atoms is not None else []
    for table, src in ((dict(arg or {}), "argument valence_charges"), (side.valence_charges, str(side.path)),
                       (qe.valence_charges if qe else {}, str(qe.path) if qe else "")):
        if table and all(s in table for s in species):
            sources["valence_charges"] = src
            return {s: float(table[s]) for s in species} if species else dict(table)
    files = {**(qe.pseudopotentials if qe else {}), **side.pseudopotentials}
    found: dict[str, float] = {}
    for s in species:
        path = find_pseudopotential(files[s], [directory]) if s in files else None
        z = upf_valence(path) if path is not None else None
        if z is None:
            return {}
        found[s] = z
        sources["valence_charges"] = f"z_valence of {path}"
    return found


def load_snapshot(
    path: str | Path,
    *,
    energy_grid: EnergyGrid | Mapping[str, float] | None = None,
    temperature: float | None = None,
    n_electrons: float | None = None,
    voxel: np.ndarray | list | None = None,
    valence_charges: Mapping[str, float] | None = None,
    qe_output: str | Path | None = None,
    mmap: bool = True,
    check_finite: bool = True,
    require_descriptors: bool = True,
    contains_xyz: bool | None = None,
    fallback_energy_grid: EnergyGrid | None = None,
) -> Snapshot:
    """Load the snapshot ``<dir>/<name>`` (or give any of its files).

    Args:
        path: ``<dir>/<name>`` or ``<dir>/<name>.in.npy`` (``.out.npy``/``.info.json`` also work).
        energy_grid: LDOS energy grid (eV); an :class:`EnergyGrid` or a mapping with any of
            ``offset``, ``spacing``, ``n`` (missing keys come from the sidecar, ``n`` from the LDOS).
        temperature: electronic temperature (K).
        n_electrons: valence electrons in the cell.
        voxel: ``(3, 3)`` grid step vectors (Å), one per row.
        valence_charges: valence charge per species (e), for the total free energy.
        qe_output: pw.x output; default: ``<name>.pw.out`` / ``.scf.out`` / ``.pwout`` /
            ``.qe.out`` / ``.out`` next to the arrays if present.
        mmap: memory-map the arrays (descriptors stay a lazy view without the coordinates).
        check_finite: scan both arrays (chunked) for NaN/inf.
        require_descriptors: False loads a snapshot without ``<name>.in.npy`` (descriptors None).
        contains_xyz: whether the descriptor file's first 3 columns are grid coordinates
            (MALA's ``descriptors_contain_xyz``); None tells from the columns themselves
            (:func:`.coordinates.columns_are_coordinates`; MALA's default, True, when they
            cannot tell). True on columns that are not coordinates is an error.
        fallback_energy_grid: the energy grid (eV) where neither the argument nor the
            sidecar gives one (a model's, for a MALA folder that keeps it in MALA's parameters).

    Metadata precedence, key by key: explicit argument > sidecar (ours or MALA's) > QE
    output. The voxel falls back to ``cell / grid`` from the sidecar's or the QE output's
    atoms; valence charges to the UPF files the sidecar or QE output names. Every problem
    raises :class:`DataError` naming the file.
    """
    directory, name = snapshot_files(path)
    in_path, out_path = (snapshot_array(directory, name, kind) or directory / f"{name}.{kind}.npy"
                         for kind in ("in", "out"))
    sidecar = directory / f"{name}.info.json"
    needed = (in_path, out_path) if require_descriptors else (out_path,)
    absent = [p for p in needed if not is_snapshot_array(p)]
    if absent:
        kinds = {in_path: ".in.npy (descriptors)", out_path: ".out.npy (LDOS)"}
        why = {p: ("is a folder" if p.is_dir() else "is a broken link" if p.is_symlink() else "is missing")
               for p in absent}
        raise DataError(f"snapshot {name!r} in {directory}: "
                        + "; ".join(f"{p.name} {why[p]} [{kinds[p]}]" for p in absent)
                        + f". A snapshot needs {name}.in.npy and {name}.out.npy as files in the same folder.")

    y = _load_array(out_path, "LDOS", mmap)
    x = _load_array(in_path, "descriptor", mmap) if is_snapshot_array(in_path) else None
    for p, a, layout in ((in_path, x, "(nx, ny, nz, 3 + F)"), (out_path, y, "(nx, ny, nz, nE)")):
        if a is None:
            continue
        if a.ndim != 4:
            raise DataError(f"{p}: array has shape {a.shape} ({a.ndim}-D); it must be 4-D {layout}. "
                            "Reshape flat MALA arrays to the grid before saving.")
        if not np.issubdtype(a.dtype, np.floating):
            raise DataError(f"{p}: dtype {a.dtype} is not floating point; save float32 arrays.")
        if min(a.shape) < 1:
            raise DataError(f"{p}: array has shape {a.shape} with an empty axis.")
    if x is not None and x.shape[:3] != y.shape[:3]:
        raise DataError(f"snapshot {name!r}: grid shapes differ: {in_path} has {x.shape[:3]}, "
                        f"{out_path} has {y.shape[:3]}. Both must be on the same (nx, ny, nz) grid.")
    xyz = 0 if x is None else _coordinate_columns(x, in_path, contains_xyz)
    if x is not None and x.shape[-1] <= xyz:
        raise DataError(f"{in_path}: has {x.shape[-1]} columns; the first 3 are grid coordinates, "
                        "so there are no descriptors. Expected 3 + F columns with F >= 1.")

    side = read_sidecar(sidecar)
    if not side.exists and out_path.suffix in OPENPMD_SUFFIXES and (stored := read_openpmd_metadata(out_path)):
        side = sidecar_from_dict(stored, out_path)  # MALA's openPMD files may carry the sidecar's keys
    if side.grid_dimensions is not None and side.grid_dimensions != tuple(y.shape[:3]):
        raise DataError(f"{sidecar}: grid_dimensions {list(side.grid_dimensions)} disagree with the arrays' grid "
                        f"{list(y.shape[:3])} ({out_path.name}). Fix the sidecar.")

    qe_path = Path(qe_output) if qe_output is not None else _find_qe_output(directory, name)
    qe: QEOutput | None = read_qe_output(qe_path) if qe_path is not None else None
    qe_src = str(qe_path) if qe_path is not None else ""

    sources: dict[str, str] = {}
    missing: list[str] = []
    grid = _energy_grid(energy_grid, side.energy_grid, side.path, y.shape[-1], out_path, missing, sources,
                        fallback_energy_grid)

    temp, sources["temperature"] = _pick([
        (temperature, "argument temperature"), (side.temperature, str(side.path)),
        (qe.temperature if qe else None, qe_src + " (Fermi-Dirac smearing width / k_B)")])
    if temp is None:
        missing.append("temperature")
    n_el, sources["n_electrons"] = _pick([
        (n_electrons, "argument n_electrons"), (side.n_electrons, str(side.path)),
        (qe.n_electrons if qe else None, qe_src)])
    if n_el is None:
        missing.append("n_electrons")

    atoms, sources["atoms"] = _pick([(side.atoms, str(side.path)), (qe.atoms if qe else None, qe_src)])
    cell_voxel = None
    if atoms is not None and np.any(atoms.cell.array):
        cell_voxel = atoms.cell.array / np.asarray(y.shape[:3], dtype=float)[:, None]
    vox, sources["voxel"] = _pick([
        (voxel, "argument voxel"), (side.voxel, str(side.path)),
        (cell_voxel, f"cell of {sources['atoms']} / grid {tuple(y.shape[:3])}")])
    if vox is None:
        missing.append("voxel")
    else:
        vox = np.asarray(vox, dtype=np.float64)
        if vox.shape != (3, 3) or not abs(np.linalg.det(vox)) > 0:
            raise DataError(f"snapshot {name!r}: voxel from {sources['voxel']} must be a non-singular "
                            f"3x3 matrix (Å), got {vox.tolist()}.")

    stated_by = [(side.path.name, side), (Path(qe_src).name, qe)]
    replaced = _replaced({"temperature": (temp, [(getattr(f, "temperature", None), n) for n, f in stated_by]),
                          "n_electrons": (n_el, [(getattr(f, "n_electrons", None), n) for n, f in stated_by]),
                          "voxel": (vox, [(side.voxel, side.path.name), (cell_voxel, f"the cell of {sources['atoms']}")]),
                          **{f"energy_grid.{k}": (getattr(grid, k, None), [(side.energy_grid.get(k), side.path.name)])
                             for k in ("offset", "spacing")}},
                         sources)
    if missing:
        lines = [f"  {key}: add {OVERRIDE_KEYS[key]}" for key in missing]
        raise DataError(
            f"snapshot {name!r} ({out_path}): missing metadata that neither the config, the "
            f"sidecar {sidecar.name} ({'found' if side.exists else 'absent'}) nor a pw.x output "
            f"({qe_src or 'none found'}) supplies:\n" + "\n".join(lines)
            + f"\nAdd the keys to {sidecar.name} or add the overrides to the command.")

    for key, value in (("temperature", temp), ("n_electrons", n_el)):
        if not (isinstance(value, (int, float, np.number)) and math.isfinite(value) and value > 0):
            raise DataError(f"snapshot {name!r}: {key}={value!r} (from {sources[key]}) must be a "
                            f"positive number; fix it there or add {OVERRIDE_KEYS[key]}.")

    reference: dict[str, float] = {}
    qe_ref = {"fermi_energy_dft": qe.fermi_energy, "band_energy_dft_calculation": qe.band_energy,
              "total_energy_dft_calculation": qe.total_energy} if qe else {}
    for key in REFERENCE_KEYS:
        value, src = _pick([(side.references.get(key), str(side.path)), (qe_ref.get(key), qe_src)])
        if value is not None:
            reference[key], sources[key] = float(value), src

    if check_finite:
        for p, a in ((in_path, None if x is None else x[..., xyz:]), (out_path, y)):
            bad = 0 if a is None else count_nonfinite(a)
            if bad:
                raise DataError(f"{p}: {bad} NaN/inf value(s) out of {a.size}. Regenerate the "
                                "snapshot or drop it from the data directory.")

    charges = _valence_charges(valence_charges, side, qe, atoms, directory, sources)
    descriptors = None if x is None else (x[..., xyz:] if mmap else np.ascontiguousarray(x[..., xyz:]))
    if x is not None and not xyz:
        sources["descriptors"] = f"all {x.shape[-1]} columns of {in_path.name} (no grid coordinates in columns 0-2)"
    files = {"descriptors": in_path if x is not None else None, "ldos": out_path,
             "sidecar": sidecar if sidecar.is_file() else None, "qe_output": qe_path}
    return Snapshot(
        name=name, descriptors=descriptors, ldos=y, energy_grid=grid, voxel=vox, atoms=atoms,
        temperature=float(temp), n_electrons=float(n_el), reference=reference, info=side.raw,
        path=directory / name, qe_output=qe, valence_charges=charges,
        sources={k: v for k, v in sources.items() if v is not None},
        files={k: v for k, v in files.items() if v is not None}, replaced=replaced,
    )


def _replaced(values: Mapping[str, tuple[Any, list[tuple[Any, str]]]], sources: Mapping[str, str]) -> dict[str, str]:
    """Keys whose value came from an argument while a file states another: key -> that value
    and where. ``values``: key -> (value used, [(value stated, by what), ...])."""
    out: dict[str, str] = {}
    for key, (used, stated) in values.items():
        if used is None or not str(sources.get(key, "")).startswith("argument"):
            continue
        for value, where in stated:
            if value is not None and not np.allclose(np.asarray(value, float), np.asarray(used, float), rtol=1e-6):
                shown = f"{float(value):g}" if np.ndim(value) == 0 else np.round(np.asarray(value), 4).tolist()
                out[key] = f"{shown} in {where}"
                break
    return out


def _coordinate_columns(x: np.ndarray, path: Path, contains_xyz: bool | None) -> int:
    """How many leading columns of the descriptor array ``x`` are grid coordinates: 3 or 0."""
    if contains_xyz is False:
        return 0
    found = columns_are_coordinates(x)
    if contains_xyz and found is False:
        raise DataError(f"{path}: columns 0-2 are not grid coordinates (not affine in the grid index), but "
                        "data.descriptors_contain_xyz=true says they are; if the file holds only descriptors "
                        "(MALA's descriptors_contain_xyz=False) set data.descriptors_contain_xyz=false")
    return 0 if found is False else 3

