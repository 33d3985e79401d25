"""MALA's openPMD snapshot files (``<name>.in.h5`` / ``<name>.out.h5``), read with h5py.

MALA writes one openPMD series per file (HDF5 backend): ``/data/<iteration>/meshes/<mesh>/<i>``
holds component ``i`` on the ``(nx, ny, nz)`` grid; the descriptor mesh (``Bispectrum``)
carries the 3 grid coordinates first, as MALA's ``.in.npy`` does, the LDOS mesh one
component per energy. Written from a pw.x output, the LDOS file also holds the snapshot's
metadata (MALA's sidecar keys as iteration attributes, the voxel as the mesh's
``gridSpacing`` and ``angles``, the atoms as particles). HDF5 files are read with h5py (a
dependency already); ADIOS2 (``.bp``) folders need ``openpmd-api`` (an optional extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError

__all__ = ["OPENPMD_SUFFIXES", "is_openpmd", "read_openpmd_array", "read_openpmd_metadata"]

#: openPMD backends read: HDF5 files (h5py) and ADIOS2 folders (``openpmd-api``, optional)
OPENPMD_SUFFIXES = (".h5", ".bp")


def is_openpmd(path: Path) -> bool:
    """An HDF5 file or an ADIOS2 folder (``<name>.bp`` is a folder)."""
    return (path.suffix == ".h5" and path.is_file()) or (path.suffix == ".bp" and path.is_dir())


def read_openpmd_array(path: Path, what: str) -> np.ndarray:
    """The mesh of ``path`` as ``(nx, ny, nz, components)`` float32 (DataError if unreadable)."""
    if path.suffix == ".bp":
        return _read_series_array(path, what)
    import h5py

    try:
        with h5py.File(path, "r") as f:
            iterations = sorted(f["data"].keys(), key=lambda k: int(k) if k.isdigit() else k)
            if len(iterations) != 1:
                raise DataError(f"{path}: {len(iterations)} iterations; a snapshot file holds one")
            meshes = f["data"][iterations[0]]["meshes"]
            if len(meshes) != 1:
                raise DataError(f"{path}: meshes {sorted(meshes)}; a snapshot file holds one ({what})")
            (mesh,) = meshes.values()
            keys = sorted(mesh.keys(), key=lambda k: int(k) if k.isdigit() else -1)
            if not keys or not all(k.isdigit() for k in keys) or [int(k) for k in keys] != list(range(len(keys))):
                raise DataError(f"{path}: the {what} mesh's components are {keys}; expected 0..n-1")
            parts = [np.asarray(mesh[k][()], dtype=np.float32) for k in keys]
    except DataError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: not a readable openPMD snapshot file ({type(exc).__name__}: {exc}). MALA writes "
                        "these with its DataConverter (naming_scheme='<name>*.h5').") from None
    shapes = {p.shape for p in parts}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise DataError(f"{path}: the {what} components have shapes {sorted(shapes)}; expected one (nx, ny, nz)")
    return np.stack(parts, axis=-1)


def _plain(value: Any) -> Any:
    """An HDF5 attribute as a JSON-like value (bytes -> str, numpy -> Python)."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    return value.item() if isinstance(value, np.generic) else value


def read_openpmd_metadata(path: Path) -> dict[str, Any]:
    """The sidecar keys MALA stored in ``path`` (empty when it stored none): iteration
    attributes, ``voxel`` (Å) from the mesh geometry, ``atoms`` (Å) from the particles,
    ``pseudopotentials`` from the ``psp_<element>`` attributes."""
    try:
        stored = _series_stored(path) if path.suffix == ".bp" else _hdf5_stored(path)
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise DataError(f"{path}: the openPMD metadata are not readable ({type(exc).__name__}: {exc})") from None
    return _sidecar_keys(stored) if stored is not None else {}


def _sidecar_keys(stored: dict[str, Any]) -> dict[str, Any]:
    """Sidecar keys from what either backend read: ``attributes``, ``grid``, and where MALA
    stored them ``spacing`` / ``angles`` / ``unit`` (m) and the atoms' ``numbers`` /
    ``positions`` / ``position_unit`` (m); the cell is rebuilt as MALA does (``ase.Cell.new``)."""
    from ase.cell import Cell

    info = dict(stored["attributes"])
    if stored.get("angles") is not None:
        info["voxel"] = Cell.new([*(np.asarray(stored["spacing"], float) * stored["unit"] / 1e-10),
                                  *stored["angles"]]).array.tolist()
        if stored.get("numbers") is not None:
            scale = stored["position_unit"] / 1e-10
            info["atoms"] = {"numbers": [int(np.ravel(n)[0]) for n in stored["numbers"]],
                             "positions": [(np.asarray(q, float) * scale).tolist() for q in stored["positions"]],
                             "cell": (np.asarray(info["voxel"]) * np.asarray(stored["grid"])[:, None]).tolist(),
                             "pbc": [bool(info.get(f"periodic_boundary_conditions_{a}", True)) for a in "xyz"]}
    psp = {k[len("psp_"):]: v for k, v in info.items() if k.startswith("psp_")}
    if psp:
        info["pseudopotentials"] = psp
    return info


def _hdf5_stored(path: Path) -> dict[str, Any] | None:
    """What MALA stored in an HDF5 file (None when it stored no metadata)."""
    import h5py

    with h5py.File(path, "r") as f:
        (iteration,) = f["data"].values()
        attributes = {k: _plain(v) for k, v in iteration.attrs.items()}
        if "temperature" not in attributes:
            return None
        (mesh,) = iteration["meshes"].values()
        stored: dict[str, Any] = {"attributes": attributes, "grid": next(iter(mesh.values())).shape,
                                  "spacing": mesh.attrs.get("gridSpacing"), "angles": mesh.attrs.get("angles"),
                                  "unit": float(mesh.attrs.get("gridUnitSI", 1e-10))}
        atoms = iteration.get("particles/atoms")
        if atoms is not None:
            keys = sorted(atoms["position"].keys(), key=int)
            stored.update(numbers=[atoms["number"][k][()] for k in keys],
                          positions=[atoms["position"][k][()] for k in keys],
                          position_unit=float(atoms["position"][keys[0]].attrs.get("unitSI", 1e-10)))
    return stored


def _series(path: Path) -> Any:
    """``path`` opened with ``openpmd-api`` (ADIOS2), checked to hold one iteration."""
    try:
        import openpmd_api as io
    except ImportError:
        raise DataError(f"{path}: reading openPMD ADIOS2 (.bp) needs openpmd-api: pip install openpmd-api") from None
    try:  # MALA stores each atom as a record component of 3 values, which the extent check rejects
        series = io.Series(str(path), io.Access.read_only, '{"verify_homogeneous_extents": false}')
    except Exception as exc:  # openpmd-api raises its own error types
        raise DataError(f"{path}: not a readable openPMD series ({type(exc).__name__}: {exc})") from None
    if len(series.iterations) != 1:
        raise DataError(f"{path}: {len(series.iterations)} iterations; a snapshot file holds one")
    return series


def _read_series_array(path: Path, what: str) -> np.ndarray:
    series = _series(path)
    iteration = series.iterations[next(iter(series.iterations))]
    if len(iteration.meshes) != 1:
        raise DataError(f"{path}: meshes {sorted(iteration.meshes)}; a snapshot file holds one ({what})")
    mesh = iteration.meshes[next(iter(iteration.meshes))]
    keys = sorted(mesh, key=lambda k: int(k) if k.isdigit() else -1)
    if keys != [str(i) for i in range(len(keys))] or not keys:
        raise DataError(f"{path}: the {what} mesh's components are {keys}; expected 0..n-1")
    chunks = [mesh[k].load_chunk() for k in keys]
    series.flush()
    parts = [np.asarray(c, dtype=np.float32) for c in chunks]
    series.close()
    if len({p.shape for p in parts}) != 1 or parts[0].ndim != 3:
        raise DataError(f"{path}: the {what} components have shapes {sorted({p.shape for p in parts})}; "
                        "expected one (nx, ny, nz)")
    return np.stack(parts, axis=-1)


def _series_stored(path: Path) -> dict[str, Any] | None:
    """What MALA stored in an ADIOS2 series (None when it stored no metadata)."""
    series = _series(path)
    try:
        iteration = series.iterations[next(iter(series.iterations))]
        attributes = {k: _plain(iteration.get_attribute(k)) for k in iteration.attributes}
        if "temperature" not in attributes:
            return None
        mesh = iteration.meshes[next(iter(iteration.meshes))]
        stored: dict[str, Any] = {"attributes": attributes, "grid": mesh[next(iter(mesh))].shape,
                                  "spacing": mesh.grid_spacing, "unit": float(mesh.grid_unit_SI),
                                  "angles": mesh.get_attribute("angles") if "angles" in mesh.attributes else None}
        if "atoms" in iteration.particles:
            atoms = iteration.particles["atoms"]
            keys = sorted(atoms["position"], key=int)
            stored.update(numbers=[atoms["number"][k].load_chunk() for k in keys],
                          positions=[atoms["position"][k].load_chunk() for k in keys],
                          position_unit=float(atoms["position"][keys[0]].unit_SI))
            series.flush()
        return stored
    finally:
        series.close()
