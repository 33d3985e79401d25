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
_REL_TOL = 1e-4  # of the grid's extent; at least 8 float epsilons of the file's dtype (float16 files exist)


def columns_are_coordinates(x: np.ndarray) -> bool | None:
    """For ``x`` of shape ``(nx, ny, nz, C)``: True if columns 0..2 are grid coordinates,
    False if they are not, None if the array cannot tell (an axis of one point, fewer than
    3 columns, or constant columns such as zeros).

    Reads only about 30 grid points, so a memory-mapped file stays on disk.
    """
    if x.ndim != 4 or x.shape[-1] < 3 or min(x.shape[:3]) < 2:
        return None
    shape = np.asarray(x.shape[:3])
    origin = np.asarray(x[0, 0, 0, :3], dtype=np.float64)
    steps = np.stack([np.asarray(x[tuple(np.eye(3, dtype=int)[a])][:3], dtype=np.float64) - origin
                      for a in range(3)])
    scale = max(float(np.abs(steps).max()) * float(shape.max()), float(np.abs(origin).max()), 1e-30)
    if not np.all(np.isfinite(steps)) or abs(np.linalg.det(steps)) <= 1e-6 * scale ** 3 / float(shape.max()) ** 3:
        return None
    tol = max(_REL_TOL, 8 * float(np.finfo(x.dtype).eps)) * scale
    rng = np.random.default_rng(0)
    points = np.vstack([shape - 1, rng.integers(0, shape, size=(_SAMPLES, 3))])
    for p in points:
        value = np.asarray(x[tuple(p)][:3], dtype=np.float64)
        if not np.allclose(value, origin + p @ steps, rtol=0.0, atol=tol):
            return False
    return True
