"""Average cosine similarity distance (ACSD) between descriptors and LDOS (paper eq. 16/17).

Pick ``P`` grid points at random; for each, ``Q`` random partners (the paper: ``P = Q =
200``, 40 000 pairs).  For every pair ``(i, j)`` the cosine similarity of the descriptor
vectors ``s_B`` and of the LDOS vectors ``s_d``; the ACSD is the mean over pairs of the
distance of the point ``(s_B, s_d)`` from the diagonal ``s_B = s_d``.  Lower is better:
descriptors that are similar exactly where the LDOS is similar.

**Distance (decided)**: the default ``clip=True`` is MALA's one-sided
``max(0, s_B - s_d)``.  Reason: only pairs the descriptors call *more* similar than their
LDOS hurt a surrogate -- two grid points the network cannot tell apart but that need
different outputs give an error no training removes.  The opposite case (different
descriptors, similar LDOS) is harmless: a network can map different inputs to the same
output.  Penalising it too (the symmetric distance) would reward descriptors that merely
blur fine structure.  The clipped form also gives numbers comparable to MALA and the paper
(same formula, no ``1/sqrt(2)``).  ``clip=False`` gives the geometric distance from the
diagonal, ``|s_B - s_d| / sqrt(2)``, for comparison.

Pairs are drawn by :func:`acsd_pairs` (seeded): points without replacement, and for each
point its partners without replacement (a partner may be the point itself, as in MALA,
where that pair contributes 0).  A zero vector has cosine similarity 0 with everything
(MALA would give NaN).

:func:`acsd` is vectorised: per side, row norms once, then the partner rows are gathered
block by block (a few MB, no ``(P, Q, F)`` temporary) and one batched matrix-vector product
per block gives the dot products; all arithmetic in float64.  :func:`acsd_reference` is the plain pair loop on
the same pairs, for tests.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["acsd", "acsd_from_similarities", "acsd_pairs", "acsd_reference", "pair_similarities"]


def _as_rows(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim < 2:
        raise ValueError(f"{what} must be (n_points, n_features) (or a grid (..., n_features)), got shape {a.shape}")
    if a.ndim > 2:
        a = a.reshape(-1, a.shape[-1])
    return a


def acsd_pairs(n_total: int, *, n_points: int = 200, n_partners: int = 200,
               seed: int | np.random.Generator = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded pairs: ``(points (P,), partners (P, Q))`` indices into ``n_total`` grid points.

    ``P = min(n_points, n_total)`` points without replacement; for each, ``Q =
    min(n_partners, n_total)`` partners without replacement.
    """
    if n_total < 1:
        raise ValueError("ACSD needs at least one grid point")
    if n_points < 1 or n_partners < 1:
        raise ValueError(f"n_points and n_partners must be >= 1, got {n_points}, {n_partners}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    p, q = min(int(n_points), n_total), min(int(n_partners), n_total)
    points = rng.choice(n_total, size=p, replace=False)
    # one draw per point (a loop over P rows, not over pairs; Generator.choice is O(Q) here)
    partners = np.stack([rng.choice(n_total, size=q, replace=False) for _ in range(p)])
    return points, partners


#: pairs per block in :func:`_cosines`: the gathered partner rows (``rows x Q x F``
#: float64) stay a few MB, in cache, instead of one ``(P, Q, F)`` temporary
_PAIRS_PER_BLOCK = 4000


def _cosines(a: np.ndarray, points: np.ndarray, partners: np.ndarray) -> np.ndarray:
    """Cosine similarities ``(P, Q)`` of rows ``points[p]`` and ``partners[p, q]`` of ``a``.

    ``cos = (x_i . x_j) / (|x_i| |x_j|)`` with float64 products and sums whatever the input
    dtype (float32 rows are gathered as float32 -- half the memory traffic -- and cast to
    float64 block by block, in cache).  Dot products are one batched matrix-vector product
    per block of points; norms are computed once per row.  A zero row gets norm 1, so its
    similarities are 0.
    """
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float64)
    a = np.ascontiguousarray(a)  # e.g. descriptors with the xyz columns sliced off: gathers 2x faster
    P, Q = partners.shape
    F = a.shape[1]
    sq = np.einsum("ij,ij->i", a, a, dtype=np.float64) if a.dtype != np.float64 else np.einsum("ij,ij->i", a, a)
    norm = np.sqrt(sq)
    norm[norm == 0] = 1.0
    xi = a[points].astype(np.float64)
    out = np.empty((P, Q), dtype=np.float64)
    rows = max(1, min(P, _PAIRS_PER_BLOCK // max(Q, 1)))
    gathered = np.empty((rows, Q, F), dtype=a.dtype)
    block = gathered if a.dtype == np.float64 else np.empty((rows, Q, F), dtype=np.float64)
    for c in range(0, P, rows):
        k = min(rows, P - c)
        np.take(a, partners[c:c + k], axis=0, out=gathered[:k])
        if block is not gathered:
            block[:k] = gathered[:k]
        np.matmul(block[:k], xi[c:c + k, :, None], out=out[c:c + k, :, None])
    out /= norm[points][:, None] * norm[partners]
    return out


def pair_similarities(descriptors: np.ndarray, ldos: np.ndarray, points: np.ndarray,
                      partners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarities ``(s_B, s_d)``, each ``(P, Q)``, of the given pairs (vectorised)."""
    d, l = _as_rows(descriptors, "descriptors"), _as_rows(ldos, "ldos")
    points = np.asarray(points, dtype=np.intp)
    partners = np.asarray(partners, dtype=np.intp)
    if partners.ndim != 2 or partners.shape[0] != points.shape[0]:
        raise ValueError(f"partners must be (P, Q) with P = {points.shape[0]}, got shape {partners.shape}")
    return _cosines(d, points, partners), _cosines(l, points, partners)


def _distance(s_b: np.ndarray, s_d: np.ndarray, clip: bool) -> np.ndarray:
    diff = s_b - s_d
    return np.maximum(diff, 0.0) if clip else np.abs(diff) / math.sqrt(2.0)


def acsd_from_similarities(s_b: np.ndarray, s_d: np.ndarray, *, clip: bool = True) -> float:
    """Mean distance from the diagonal of precomputed similarities (see :func:`acsd`)."""
    return float(np.mean(_distance(np.asarray(s_b, dtype=np.float64), np.asarray(s_d, dtype=np.float64), clip)))


def _check(descriptors: np.ndarray, ldos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d, l = _as_rows(descriptors, "descriptors"), _as_rows(ldos, "ldos")
    if d.shape[0] != l.shape[0]:
        raise ValueError(f"descriptors have {d.shape[0]} grid points, the LDOS {l.shape[0]}")
    return d, l


def acsd(descriptors: np.ndarray, ldos: np.ndarray, *, n_points: int = 200, n_partners: int = 200,
         seed: int | np.random.Generator = 0, clip: bool = True) -> float:
    """ACSD of ``descriptors`` ``(n, F)`` (coordinates already removed) against ``ldos`` ``(n, nE)``.

    Args:
        descriptors, ldos: one row per grid point (grids ``(..., F)`` are flattened).
        n_points, n_partners: ``P`` points and ``Q`` partners each (``P x Q`` pairs).
        seed: seeds :func:`acsd_pairs` (same seed, same pairs, same value).
        clip: ``True`` (default, MALA): mean of ``max(0, s_B - s_d)``; ``False``: mean of
            ``|s_B - s_d| / sqrt(2)``. See the module docstring for the choice.

    Returns:
        the ACSD (lower is better), in ``[0, 2]``.
    """
    d, l = _check(descriptors, ldos)
    points, partners = acsd_pairs(d.shape[0], n_points=n_points, n_partners=n_partners, seed=seed)
    s_b, s_d = pair_similarities(d, l, points, partners)
    return float(np.mean(_distance(s_b, s_d, clip)))


def acsd_reference(descriptors: np.ndarray, ldos: np.ndarray, *, n_points: int = 200, n_partners: int = 200,
                   seed: int | np.random.Generator = 0, clip: bool = True) -> float:
    """:func:`acsd` as a plain loop over pairs (same pairs, same conventions); for tests."""
    d, l = _check(descriptors, ldos)
    points, partners = acsd_pairs(d.shape[0], n_points=n_points, n_partners=n_partners, seed=seed)

    def cos(u: np.ndarray, v: np.ndarray) -> float:
        nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
        if nu == 0.0 or nv == 0.0:
            return 0.0
        return float(np.dot(u, v)) / (nu * nv)

    total, count = 0.0, 0
    for a, i in enumerate(points):
        for j in partners[a]:
            s_b = cos(d[i].astype(np.float64), d[j].astype(np.float64))
            s_d = cos(l[i].astype(np.float64), l[j].astype(np.float64))
            diff = s_b - s_d
            total += max(diff, 0.0) if clip else abs(diff) / math.sqrt(2.0)
            count += 1
    return total / count
