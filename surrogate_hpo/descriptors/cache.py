"""On-disk cache of bispectrum descriptors, keyed by everything that determines them.

The key is a SHA-256 of the descriptor settings (all of :class:`BispectrumSettings`), the
grid, the cell, the periodicity, the chemical symbols and the exact positions (float64
bytes), plus a format version: any change gives a new key, so a cached file is never
stale.  Files are written to a temporary name and renamed into place (atomic), so
concurrent Ray workers computing the same key at worst both compute it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..util.atomic import atomic_open
from . import bispectrum as _bispectrum
from .bispectrum import BispectrumSettings

__all__ = ["cache_key", "cached_bispectrum"]

_FORMAT_VERSION = 1


def cache_key(atoms: Any, grid_shape: Sequence[int], settings: BispectrumSettings, dtype: Any = np.float32) -> str:
    """Hex key of the descriptors of ``atoms`` on ``grid_shape`` with ``settings``."""
    h = hashlib.sha256()
    meta = {
        "format": _FORMAT_VERSION,
        "settings": settings.to_dict(),
        "grid": [int(n) for n in grid_shape],
        "symbols": list(atoms.get_chemical_symbols()),
        "pbc": [bool(p) for p in np.asarray(atoms.pbc).reshape(-1)],
        "dtype": np.dtype(dtype).str,
    }
    h.update(json.dumps(meta, sort_keys=True).encode())
    h.update(np.ascontiguousarray(np.asarray(atoms.cell[:], dtype=np.float64)).tobytes())
    h.update(np.ascontiguousarray(np.asarray(atoms.get_positions(), dtype=np.float64)).tobytes())
    return h.hexdigest()


def cached_bispectrum(
    atoms: Any,
    grid_shape: Sequence[int],
    *,
    rcutfac: float,
    twojmax: int,
    cache_dir: str | Path,
    settings: BispectrumSettings | None = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """:func:`~surrogate_hpo.descriptors.bispectrum.compute_bispectrum` through a ``.npy`` cache.

    Args:
        atoms, grid_shape, rcutfac, twojmax, dtype: as for ``compute_bispectrum``.
        cache_dir: folder for ``bispectrum-<key>.npy`` files (created if needed).
        settings: base settings (MALA defaults if None); ``rcutfac``/``twojmax`` override them.

    Returns:
        ``(nx, ny, nz, 3 + F)`` array, coordinates first (as ``compute_bispectrum``).
    """
    base = settings if settings is not None else BispectrumSettings()
    settings = dataclasses.replace(base, rcutfac=float(rcutfac), twojmax=int(twojmax))
    cache_dir = Path(cache_dir).expanduser()
    path = cache_dir / f"bispectrum-{cache_key(atoms, grid_shape, settings, dtype)}.npy"
    if path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.shape[:3] == tuple(int(n) for n in grid_shape) and cached.ndim == 4 \
                    and cached.dtype == np.dtype(dtype):
                return cached
        except (OSError, ValueError):  # unreadable (e.g. disk trouble): recompute and overwrite
            pass
    arr = _bispectrum.compute_bispectrum(atoms, grid_shape, settings=settings, dtype=dtype)
    with atomic_open(path) as fh:
        np.save(fh, arr)
    return arr
