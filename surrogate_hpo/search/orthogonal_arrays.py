"""Strength-2 orthogonal arrays with mixed level counts, and range analysis (OAT).

An orthogonal array of strength 2 is an ``N x k`` integer matrix, column ``j`` taking the
values ``0 .. levels[j]-1``, such that in every pair of columns every pair of levels
appears equally often (``N / (m_i m_j)`` times). OAT trains one trial per row and then
picks each factor's best level by range analysis (docs/design.md, "Search methods").

Construction (built in code, verified before it is returned)
--------------------------------------------------------------
1. Split every level count into prime-power parts, ``m_j = prod_p p^{e_jp}`` (levels of 1
   have no parts and become a constant column).
2. For every prime ``p`` build a strength-2 array for the components ``p^{e_jp}`` (factors
   without a ``p`` part are constant there). The smallest of these candidates is used:

   * *subspace (replacement) method over GF(p)*: rows are all vectors ``x`` of
     ``GF(p)^n``; a component with ``p^e`` levels is an ``e``-dimensional subspace with basis
     ``b_1..b_e`` and its level is the base-``p`` number ``(b_1.x, ..., b_e.x)``. Two
     components are orthogonal when their subspaces intersect only in 0 (the joint map is
     then onto, hence uniform). This is the classic replacement of the ``(p^e-1)/(p-1)``
     columns of a Rao-Hamming array by one ``p^e``-level column; the subspaces are found by
     a bounded depth-first search, trying ``n`` upwards (gives e.g. L8(4^1 2^4));
   * *Rao-Hamming over GF(q)*, ``q = p^k`` with ``k = max e``: ``L_{q^n}(q^{(q^n-1)/(q-1)})``
     with the smallest ``n`` that has enough columns; a component with ``p^e | q`` levels
     keeps the lowest ``e`` base-``p`` digits of the field element (a balanced map, so
     strength 2 is kept);
   * the full factorial of the components.
3. The per-prime arrays are crossed (every row of one with every row of the other) and the
   components of a factor are combined in mixed radix. Crossing keeps strength 2: pairs
   inside one prime are uniform there, and the primes vary independently.
4. If the full factorial of all factors has no more rows, it is returned instead
   (it has strength = number of factors).

Run counts (``orthogonal_array(levels).shape[0]``; full factorial in brackets):
``[2,4,4,3]`` -> 48 (96, and 48 is the minimum: a multiple of lcm(16, 12));
``[3,3,3,3]`` -> 9 (81); ``[2]*7`` -> 8 (128); ``[4,2,2,2,2]`` -> 8 (64);
``[5,5,5]`` -> 25 (125); ``[2,3]`` -> 6 (6); ``[6,2]`` -> 12 (12).
The count is never above the full factorial, and is the product over primes of the
per-prime counts, so it is not always minimal when level counts mix primes (e.g. 3- and
2-level factors together); correctness is preferred over minimality.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["orthogonal_array", "is_orthogonal", "range_analysis"]

#: largest p^n tried by the GF(p) subspace search, and its node budget per n
_MAX_SUBSPACE_RUNS = 1 << 12
_MAX_SEARCH_NODES = 20000


# --------------------------------------------------------------------------- validation
def _check_strength(strength: Any) -> None:
    if isinstance(strength, bool) or not isinstance(strength, (int, np.integer)) or int(strength) != 2:
        raise ValueError(f"strength={strength!r} is not supported; only strength 2 is supported")


def _check_levels(levels: Sequence[int]) -> list[int]:
    try:
        lv = list(levels)
    except TypeError:
        raise ValueError(f"levels must be a sequence of positive integers, got {levels!r}") from None
    if not lv:
        raise ValueError("levels is empty; give at least one factor's level count")
    out = []
    for j, m in enumerate(lv):
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
            raise ValueError(f"levels[{j}]={m!r} is not an integer; level counts must be integers >= 1")
        if int(m) < 1:
            raise ValueError(f"levels[{j}]={int(m)} is < 1; every factor needs at least one level")
        out.append(int(m))
    return out


# --------------------------------------------------------------------------- number theory
def _factorize(m: int) -> dict[int, int]:
    out: dict[int, int] = {}
    d = 2
    while d * d <= m:
        while m % d == 0:
            out[d] = out.get(d, 0) + 1
            m //= d
        d += 1
    if m > 1:
        out[m] = out.get(m, 0) + 1
    return out


def _digits(n_values: int, p: int, n: int) -> np.ndarray:
    """``n_values x n`` matrix of the base-``p`` digits (least significant first)."""
    idx = np.arange(n_values)
    return np.stack([(idx // p**i) % p for i in range(n)], axis=1) if n else np.zeros((n_values, 0), int)


def _gf_tables(p: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Addition and multiplication tables of GF(p^k); elements are base-p coefficient ints."""
    q = p**k
    dig = _digits(q, p, k)
    add = np.zeros((q, q), dtype=np.int64)
    powers = p ** np.arange(k)
    for a in range(q):
        add[a] = ((dig[a] + dig) % p) @ powers
    if k == 1:
        mul = np.outer(np.arange(p), np.arange(p)) % p
        return add, mul
    # a monic irreducible polynomial of degree k: the first one not a product of lower-degree ones
    def polymul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.convolve(a, b) % p

    reducible = set()
    for d in range(1, k // 2 + 1):
        for a_low in itertools.product(range(p), repeat=d):
            a = np.array(list(a_low) + [1])
            for b_low in itertools.product(range(p), repeat=k - d):
                b = np.array(list(b_low) + [1])
                reducible.add(tuple(polymul(a, b)))
    irr = None
    for low in itertools.product(range(p), repeat=k):
        cand = tuple(list(low) + [1])
        if cand not in reducible:
            irr = np.array(cand)
            break
    assert irr is not None
    mul = np.zeros((q, q), dtype=np.int64)
    for a in range(q):
        for b in range(q):
            prod = list(polymul(dig[a], dig[b]))  # degree <= 2k-2, low first
            for deg in range(len(prod) - 1, k - 1, -1):
                c = prod[deg]
                if c:
                    for i in range(k + 1):
                        prod[deg - k + i] = (prod[deg - k + i] - c * irr[i]) % p
            mul[a, b] = int(np.dot(np.array(prod[:k]) % p, powers))
    return add, mul


# --------------------------------------------------------------------------- per-prime builders
def _full_factorial(levels: Sequence[int]) -> np.ndarray:
    grids = np.meshgrid(*[np.arange(m) for m in levels], indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64).reshape(-1, len(levels))


def _rao_hamming(p: int, exps: list[int]) -> np.ndarray | None:
    """GF(p^k) Rao-Hamming array, components with p^e levels (e <= k) by lowest digits."""
    active = [j for j, e in enumerate(exps) if e > 0]
    k = max(exps)
    q = p**k
    f = len(active)
    n = 1
    while (q**n - 1) // (q - 1) < f:
        n += 1
    if q**n > 10**6:
        return None
    add, mul = _gf_tables(p, k)
    x = _digits(q**n, q, n)  # rows: all vectors of GF(q)^n
    # projective points: nonzero vectors whose first nonzero coordinate is 1
    cols = []
    for c in itertools.product(range(q), repeat=n):
        nz = [v for v in c if v]
        if nz and nz[0] == 1:
            cols.append(c)
        if len(cols) == f:
            break
    out = np.zeros((x.shape[0], len(exps)), dtype=np.int64)
    for j, c in zip(active, cols):
        val = np.zeros(x.shape[0], dtype=np.int64)
        for i, ci in enumerate(c):
            val = add[val, mul[ci, x[:, i]]]
        out[:, j] = val % p ** exps[j]
    return out


def _subspace_array(p: int, exps: list[int], max_runs: int) -> np.ndarray | None:
    """Replacement method over GF(p): pairwise trivially intersecting subspaces of GF(p)^n."""
    active = sorted((j for j, e in enumerate(exps) if e > 0), key=lambda j: -exps[j])
    dims = [exps[j] for j in active]
    need = sum(p**d - 1 for d in dims)  # nonzero vectors used
    n = max(dims)
    if len(dims) > 1:
        n = max(n, dims[0] + dims[1])
    while p**n - 1 < need:
        n += 1
    while p**n <= min(max_runs, _MAX_SUBSPACE_RUNS):
        bases = _find_subspaces(p, n, dims)
        if bases is not None:
            x = _digits(p**n, p, n)
            vec = _digits(p**n, p, n)
            out = np.zeros((p**n, len(exps)), dtype=np.int64)
            for j, basis in zip(active, bases):
                val = np.zeros(p**n, dtype=np.int64)
                for i, b in enumerate(basis):
                    val += ((x @ vec[b]) % p) * p**i
                out[:, j] = val
            return out
        n += 1
    return None


def _find_subspaces(p: int, n: int, dims: list[int]) -> list[list[int]] | None:
    size = p**n
    dig = _digits(size, p, n)
    powers = p ** np.arange(n)
    used = np.zeros(size, dtype=bool)
    used[0] = True
    nodes = [0]

    def extend(span: np.ndarray, v: int) -> np.ndarray:
        new = (dig[span][:, None, :] + np.arange(1, p)[None, :, None] * dig[v][None, None, :]) % p
        return (new.reshape(-1, n) @ powers).astype(np.int64)

    def place(f: int) -> list[list[int]] | None:
        if f == len(dims):
            return []
        return grow(f, np.array([0]), [], 1)

    def grow(f: int, span: np.ndarray, basis: list[int], start: int) -> list[list[int]] | None:
        if len(basis) == dims[f]:
            added = span[span != 0]
            used[added] = True
            rest = place(f + 1)
            if rest is not None:
                return [list(basis)] + rest
            used[added] = False
            return None
        in_span = np.zeros(size, dtype=bool)
        in_span[span] = True
        for v in range(start, size):
            if used[v] or in_span[v]:
                continue
            nodes[0] += 1
            if nodes[0] > _MAX_SEARCH_NODES:
                return None
            new = extend(span, v)
            if used[new].any():
                continue
            res = grow(f, np.concatenate([span, new]), basis + [v], v + 1)
            if res is not None:
                return res
            if nodes[0] > _MAX_SEARCH_NODES:
                return None
        return None

    return place(0)


def _prime_array(p: int, exps: list[int]) -> np.ndarray:
    comp_levels = [p**e for e in exps]
    full_runs = math.prod(comp_levels)
    candidates = []
    rh = _rao_hamming(p, exps)
    if rh is not None:
        candidates.append(rh)
    best = min([c.shape[0] for c in candidates] + [full_runs])
    sub = _subspace_array(p, exps, best)
    if sub is not None:
        candidates.append(sub)
    candidates = [c for c in candidates if is_orthogonal(c, comp_levels)]
    if not candidates or min(c.shape[0] for c in candidates) >= full_runs:
        return _full_factorial(comp_levels)
    return min(candidates, key=lambda c: c.shape[0])


# --------------------------------------------------------------------------- public API
def orthogonal_array(levels: Sequence[int], *, strength: int = 2) -> np.ndarray:
    """Strength-2 orthogonal array for factors with ``levels[j]`` levels each.

    Returns an ``N x len(levels)`` int64 array, column ``j`` holding ``0 .. levels[j]-1``;
    every level pair of every two columns appears ``N / (levels[i] * levels[j])`` times.
    ``N`` is at most the full factorial ``prod(levels)`` (see the module docstring for the
    construction and typical run counts). Levels of 1 give a constant column of zeros.
    Deterministic. ValueError for an empty list, a level count < 1, or ``strength != 2``.
    """
    _check_strength(strength)
    lv = _check_levels(levels)
    k = len(lv)
    fac = [_factorize(m) for m in lv]
    primes = sorted({p for f in fac for p in f})
    arr = np.zeros((1, k), dtype=np.int64)
    for p in primes:
        exps = [f.get(p, 0) for f in fac]
        part = _prime_array(p, exps)
        radix = np.array([p**e for e in exps], dtype=np.int64)
        n_old, n_new = arr.shape[0], part.shape[0]
        arr = np.repeat(arr, n_new, axis=0) * radix + np.tile(part, (n_old, 1))
    full = math.prod(lv)
    if full <= arr.shape[0]:
        arr = _full_factorial(lv)
    if not is_orthogonal(arr, lv):  # pragma: no cover - construction guarantees it
        raise RuntimeError(f"internal error: array for levels {lv} is not of strength 2")
    return arr


def is_orthogonal(array: Any, levels: Sequence[int], strength: int = 2) -> bool:
    """True when ``array`` (runs x factors) is an orthogonal array of strength 2.

    Every column must only hold ``0 .. levels[j]-1`` with each level equally often, and in
    every pair of columns every level pair must appear equally often. ValueError when the
    shape does not match ``levels`` or ``strength != 2``.
    """
    _check_strength(strength)
    lv = _check_levels(levels)
    a = np.asarray(array)
    if a.ndim != 2 or a.shape[1] != len(lv):
        raise ValueError(f"array has shape {a.shape}; expected (runs, {len(lv)}) for levels {lv}")
    n = a.shape[0]
    if n == 0:
        return False
    if not np.issubdtype(a.dtype, np.integer):
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            return False
        a = a.astype(np.int64)
    for j, m in enumerate(lv):
        col = a[:, j]
        if col.min() < 0 or col.max() >= m:
            return False
        if n % m or not np.all(np.bincount(col, minlength=m) == n // m):
            return False
    for i, j in itertools.combinations(range(len(lv)), 2):
        mi, mj = lv[i], lv[j]
        if n % (mi * mj):
            return False
        counts = np.bincount(a[:, i] * mj + a[:, j], minlength=mi * mj)
        if not np.all(counts == n // (mi * mj)):
            return False
    return True


def range_analysis(array: Any, levels: Sequence[int], losses: Any) -> dict[str, Any]:
    """Range analysis of OAT results: per factor, mean loss per level.

    ``losses[r]`` is the loss of run (row) ``r``; NaN or +-inf losses (failed trials) are
    left out and counted. Returns a dict with

    * ``level_means``: list (one per factor) of float arrays of length ``levels[j]``, the mean
      loss per level (NaN for a level with no finite loss);
    * ``level_counts``: list of int arrays, the number of finite losses per level;
    * ``best_levels``: list of int, the argmin of each factor's level means (the lowest level
      index on ties);
    * ``importance``: float array, max - min of each factor's level means (over levels that
      have a finite mean; 0 for a one-level factor);
    * ``ranking``: factor indices, most important first;
    * ``n_failed`` / ``n_used``: runs left out / used.

    ValueError when shapes disagree or no loss is finite.
    """
    lv = _check_levels(levels)
    a = np.asarray(array)
    if a.ndim != 2 or a.shape[1] != len(lv):
        raise ValueError(f"array has shape {a.shape}; expected (runs, {len(lv)}) for levels {lv}")
    y = np.asarray(losses, dtype=np.float64).reshape(-1)
    if y.shape[0] != a.shape[0]:
        raise ValueError(f"got {y.shape[0]} losses for {a.shape[0]} runs; need one loss per row")
    a = a.astype(np.int64)
    for j, m in enumerate(lv):
        if a.shape[0] and (a[:, j].min() < 0 or a[:, j].max() >= m):
            raise ValueError(f"column {j} has entries outside 0..{m - 1}")
    ok = np.isfinite(y)
    if not ok.any():
        raise ValueError(f"no finite loss among {y.shape[0]} runs; range analysis needs at least one")
    a_ok, y_ok = a[ok], y[ok]
    means, counts, best, importance = [], [], [], []
    for j, m in enumerate(lv):
        cnt = np.bincount(a_ok[:, j], minlength=m)
        tot = np.bincount(a_ok[:, j], weights=y_ok, minlength=m)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
        have = mean[cnt > 0]
        counts.append(cnt.astype(np.int64))
        means.append(mean)
        best.append(int(np.nanargmin(mean)))
        importance.append(float(have.max() - have.min()))
    imp = np.array(importance, dtype=np.float64)
    ranking = [int(j) for j in np.argsort(-imp, kind="stable")]
    return {
        "level_means": means,
        "level_counts": counts,
        "best_levels": best,
        "importance": imp,
        "ranking": ranking,
        "n_failed": int((~ok).sum()),
        "n_used": int(ok.sum()),
    }
