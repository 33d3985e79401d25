"""Periodic real-space grids: cell, voxel and reciprocal-space vectors (Å, Å^-1)."""

from __future__ import annotations

import numpy as np


def reciprocal_cell(cell: np.ndarray) -> np.ndarray:
    """Reciprocal lattice vectors ``b_i`` as rows (Å^-1, with the 2 pi): ``a_i . b_j = 2 pi d_ij``."""
    cell = np.asarray(cell, dtype=np.float64)
    return 2.0 * np.pi * np.linalg.inv(cell).T


def cell_volume(cell: np.ndarray) -> float:
    """Volume of the cell spanned by the rows of ``cell`` (Å^3)."""
    return float(abs(np.linalg.det(np.asarray(cell, dtype=np.float64))))


def cell_from_voxel(voxel: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Cell (rows, Å) from the voxel (one grid step per row, Å) and the grid shape."""
    return np.asarray(voxel, dtype=np.float64) * np.asarray(shape, dtype=np.float64)[:, None]


def g_vectors(cell: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Cartesian G vectors (Å^-1) of an FFT grid, shape ``shape + (3,)``, in numpy's FFT
    order (``fftfreq`` integers times the reciprocal vectors)."""
    b = reciprocal_cell(cell)
    m = np.meshgrid(*[np.fft.fftfreq(n, d=1.0 / n) for n in shape], indexing="ij")
    return m[0][..., None] * b[0] + m[1][..., None] * b[1] + m[2][..., None] * b[2]


def g_squared(cell: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """``|G|^2`` (Å^-2) of an FFT grid, shape ``shape``."""
    g = g_vectors(cell, shape)
    return np.einsum("...i,...i->...", g, g)
