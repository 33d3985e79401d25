"""Does a descriptor array start with the grid points' coordinates (MALA's ``descriptors_contain_xyz``)?

MALA writes ``(nx, ny, nz, 3 + F)`` by default: columns 0..2 are the Cartesian position of
each grid point (Å or grid units), an affine function of the grid index ``(i, j, k)``. With
``descriptors_contain_xyz=False`` it writes ``(nx, ny, nz, F)``. The files do not say
which, so the columns are tested: coordinates are affine in ``(i, j, k)`` with three
independent step vectors; bispectrum components are not.
"""

from __future__ import annotations

import numpy as np

__all__ = ["columns_are_coordinates"]

_SAMPLES = 24
_REL_TOL = 1e-4  # of the largest coordinate; at least 8 float epsilons of the file's dtype (float16 files exist)


def columns_are_coordinates(x: np.ndarray) -> bool | None:
    """For ``x`` of shape ``(nx, ny, nz, C)``: True if columns 0..2 are grid coordinates,
    False if they are not, None if the array cannot tell (an axis of one point, fewer than
    3 columns, or constant columns such as zeros).

    Reads only about 30 grid points, so a memory-mapped file stays on disk.
    """
    if x.ndim != 4 or x.shape[-1] < 3 or min(x.shape[:3]) < 2:
        return None
    last = np.asarray(x.shape[:3]) - 1
    origin = _point(x, (0, 0, 0))
    # Steps from the far end of each axis, so a value's rounding error is divided by n - 1
    # rather than multiplied by the index when the grid is extrapolated.
    edges = np.stack([_point(x, tuple(last[a] * np.eye(3, dtype=int)[a])) - origin for a in range(3)])
    if not (np.all(np.isfinite(edges)) and np.all(np.isfinite(origin))):
        return None
    corners = origin + np.array(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij")).reshape(3, -1).T @ edges
    scale = max(float(np.abs(corners).max()), float(np.abs(edges).max()), 1e-30)
    if abs(np.linalg.det(edges)) <= 1e-6 * float(np.abs(edges).max()) ** 3:
        return None
    steps = edges / last[:, None]
    tol = max(_REL_TOL, 8 * float(np.finfo(x.dtype).eps)) * scale
    rng = np.random.default_rng(0)
    for p in np.vstack([last, rng.integers(0, last + 1, size=(_SAMPLES, 3))]):
        if not np.allclose(_point(x, tuple(p)), origin + p @ steps, rtol=0.0, atol=tol):
            return False
    return True


def _point(x: np.ndarray, index: tuple[int, ...]) -> np.ndarray:
    """Columns 0..2 at grid point ``index``, as float64."""
    return np.asarray(x[tuple(int(i) for i in index)][:3], dtype=np.float64)
