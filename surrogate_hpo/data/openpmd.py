"""MALA's openPMD snapshot files (``<name>.in.h5`` / ``<name>.out.h5``), read with h5py.

MALA writes one openPMD series per file (HDF5 backend): ``/data/<iteration>/meshes/<mesh>/<i>``
holds component ``i`` on the ``(nx, ny, nz)`` grid; the descriptor mesh (``Bispectrum``)
carries the 3 grid coordinates first, as MALA's ``.in.npy`` does, the LDOS mesh one
component per energy. The ``openpmd-api`` package installs here too, but the files are
plain HDF5 and h5py (already a dependency of the stack) reads them without it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = ["read_openpmd_array"]


def read_openpmd_array(path: Path, what: str) -> np.ndarray:
    """The mesh of ``path`` as ``(nx, ny, nz, components)`` float32 (DataError if unreadable)."""
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
