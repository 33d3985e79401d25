"""NASWOT: a training-free score of untrained networks (Fiedler et al. 2022, eq. 13/14).

For a batch of ``B`` grid points ``x`` (``B x F``):

* ``J = d(sum of outputs)/dx`` -- one row per point (one backward pass gives all rows);
* ``C = corrcoef(J)`` (``B x B``, rows are points), in float64;
* ``lambda = eigvalsh(C)``;
* ``S = -sum_i [ln(lambda_i + k) + 1/(lambda_i + k)]``.

**Higher is better**: decorrelated Jacobians give ``lambda ~ 1`` and the largest ``S``
(``-(ln 1 + 1) = -1`` per eigenvalue, the maximum of ``-(ln l + 1/l)``); a network
whose Jacobian rows are all alike has one eigenvalue ``B`` and ``B - 1`` zeros, each
zero costing ``-(ln k + 1/k) ~ -1e5`` for ``k = 1e-5``. MALA minimises ``-S`` with
``k = 1e-4``; the order is the same.

(About 400 lines because the score, its batched Jacobian path and the rank-trap check share
one set of conventions, B, k, T and the seeding; split, they would each restate them.)

Mean score over ``T`` initialisations: ``S' = mean(S) - std(S)`` (population std,
``ddof=0``, as MALA's ``np.mean + np.std`` of the losses ``-S``).

Batch size: ``C`` has rank ``<= min(B, F)``, so ``B > F`` only adds zero eigenvalues that
swamp every other term. Larger batches are clipped to the first ``F`` rows with a
warning (``on_large_batch="clip"``) or rejected (``"raise"``). (Centring each row removes
one more dimension, so ``B = F`` still yields one zero eigenvalue; prefer ``B < F``,
e.g. the default 64 for F = 91.)

Zero-variance Jacobian rows (e.g. a point where every ReLU is dead, so ``J_i = 0``)
have an undefined correlation (numpy and MALA give NaN). Here such a row and column of
``C`` are set to zero (diagonal included, the ``nan_to_num`` convention), so the point
contributes one eigenvalue ``0`` -- the heaviest penalty, ``-(ln k + 1/k)``. Scores stay
finite and such networks rank low. Non-finite Jacobian rows are treated the same way.

Speed: networks that are ``nn.Sequential`` stacks of ``nn.Linear`` and the supported
activations (everything :func:`~surrogate_hpo.model.network.build_mlp` makes) get their
Jacobian by an explicit backward pass in batched matrix products, ``T`` initialisations
at a time, with no autograd graph; anything else falls back to autograd
(``x.requires_grad_() ; net(x).sum().backward()``). For an :class:`Architecture`
(:func:`naswot_mean_score`'s fast path) the ``T`` weight sets are drawn straight into
stacked, matmul-friendly tensors from the raw bits of a numpy PCG64 generator (uniform
integers on the float32 grid, scaled inside the matmuls) -- no modules are built; the
forward/backward pass runs in float32 with every constant factor folded into the
matmuls' scalars or dropped (``corrcoef`` ignores a positive factor per row), ``tanh``
via the ~3x cheaper ``sigmoid``, and the output layer's forward pass is skipped (only its
column sums enter ``J``). ``C`` is built in float64 and ``S`` follows from a Cholesky
factor of ``C + k I`` (``sum ln(lambda + k) = ln det``, ``sum 1/(lambda + k) = trace of
the inverse``), a fraction of the cost of ``eigvalsh`` at ``B = 64``; same value to
~1e-9 relative. ``weights="pool"`` removes the drawing (common random numbers, see
:class:`UniformPool`). MALA's objective additionally builds modules, goes through a
``DataLoader``, computes weight gradients it never uses and calls the general ``eig``;
``benchmarks/naswot_speed.py`` measures both side by side. Small ops run best on one
thread (``threads=1``, which Ray's one-CPU trials get anyway).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from typing import Callable, Iterator, Literal, Sequence, Union

import numpy as np
import torch
from torch import nn

from surrogate_hpo.model.network import Architecture

from ._jacobians import (  # noqa: F401 - re-exported for tests and benchmarks
    _ACT_TYPES,
    _UNIT,
    UniformPool,
    _default_pool,
    _draw_layers,
    _draw_unit,
    _fast_jacobian,
    _init_stacked,
    _parse_mlp,
    _readonly_tensor,
    _stacked_jacobian,
    batch_jacobian,
    stacked_to_modules,
)

__all__ = [
    "DEFAULT_K",
    "architecture_jacobians",
    "MALA_K",
    "batch_jacobian",
    "correlation_matrix",
    "mean_minus_std",
    "naswot_mean_score",
    "naswot_score",
    "num_threads",
    "score_from_jacobian",
    "stacked_to_modules",
    "UniformPool",
]

DEFAULT_K = 1e-5
"""Regulariser ``k`` of the paper / Mellor et al."""
MALA_K = 1e-4
"""MALA's ``k`` (chosen for its float32 general eigenvalue solver on GPU)."""

NetworkFactory = Callable[[int], nn.Module]
LargeBatch = Literal["clip", "raise"]
Method = Literal["auto", "analytic", "autograd"]



# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """Temporarily set ``torch.set_num_threads(n)`` (no-op for ``None``)."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _as_tensor(batch) -> torch.Tensor:
    t = batch if isinstance(batch, torch.Tensor) else torch.as_tensor(np.asarray(batch))
    if t.ndim != 2:
        raise ValueError(f"batch must be 2-D (B points x F features), got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        t = t.float()
    return t.detach()


def _check_batch(x: torch.Tensor, on_large_batch: LargeBatch) -> torch.Tensor:
    b, f = x.shape
    if b < 2:
        raise ValueError(f"NASWOT needs at least 2 points in the batch, got {b}")
    if b > f:
        msg = (
            f"NASWOT batch size {b} exceeds the number of input features F={f}: corrcoef(J) "
            f"has rank <= F, so the extra {b - f} eigenvalues are zeros that swamp the score"
        )
        if on_large_batch == "raise":
            raise ValueError(msg + "; pass at most F points")
        if on_large_batch != "clip":
            raise ValueError(f"on_large_batch must be 'clip' or 'raise', got {on_large_batch!r}")
        warnings.warn(msg + f"; using the first {f} points", stacklevel=3)
        x = x[:f]
    return x


def mean_minus_std(scores: Sequence[float]) -> float:
    """``mean(scores) - std(scores)`` (population std); ``-inf`` if any score is NaN."""
    a = [float(s) for s in scores]
    if not a:
        raise ValueError("no scores")
    if any(math.isnan(s) for s in a):
        return -math.inf
    if len(a) > 64 or not all(math.isfinite(s) for s in a):
        v = np.asarray(a)
        return float(v.mean() - v.std())
    # two-pass mean and population std in plain Python (numpy's call overhead dominates
    # for a handful of numbers); math.fsum: correctly rounded sums
    n = len(a)
    m = math.fsum(a) / n
    return m - math.sqrt(math.fsum((s - m) ** 2 for s in a) / n)


# --------------------------------------------------------------------------- maths


def correlation_matrix(jac: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of the rows of ``jac`` (``(..., B, F)`` -> ``(..., B, B)``), float64.

    Rows with zero (or non-finite) variance get an all-zero row and column, diagonal
    included (see module docstring).
    """
    j = jac.to(torch.float64)
    mean = j.mean(dim=-1, keepdim=True)
    jm = j - mean
    norm = torch.linalg.vector_norm(jm, dim=-1)
    # zero variance: exactly, or at rounding level relative to the row's mean (a constant
    # float32 row can pick up an ulp when centred in float64); NaN norms compare False
    ok = norm > 1e-10 * math.sqrt(j.shape[-1]) * mean.squeeze(-1).abs()
    ok &= norm > 0
    inv = torch.where(ok, 1.0 / torch.where(ok, norm, torch.ones_like(norm)), torch.zeros_like(norm))
    # rows of non-finite or zero-variance Jacobians -> 0 (inf * 0 = NaN -> 0)
    z = (jm * inv.unsqueeze(-1)).nan_to_num_(0.0, 0.0, 0.0)
    c = z @ z.transpose(-1, -2)
    return c.clamp_(-1.0, 1.0)


def score_from_jacobian(jac: torch.Tensor, *, k: float = DEFAULT_K) -> torch.Tensor:
    """NASWOT score(s) from Jacobian(s) ``(..., B, F)``; returns a float64 tensor ``(...)``."""
    c = correlation_matrix(jac)
    lam = torch.linalg.eigvalsh(c)
    lk = lam + k
    return -(torch.log(lk) + 1.0 / lk).sum(dim=-1)


# --------------------------------------------------------------------------- scores


def naswot_score(
    network: nn.Module,
    batch,
    *,
    k: float = DEFAULT_K,
    on_large_batch: LargeBatch = "clip",
    method: Method = "auto",
) -> float:
    """NASWOT score ``S`` of one (untrained) network on ``batch`` (``B x F``). Higher is better.

    ``method``: 'analytic' (explicit backward for Linear/activation Sequentials),
    'autograd', or 'auto' (analytic when the network can be parsed).
    """
    x = _check_batch(_as_tensor(batch), on_large_batch)
    layers = _parse_mlp(network) if method in ("auto", "analytic") else None
    if method == "analytic" and layers is None:
        raise ValueError("method='analytic' needs an nn.Sequential of nn.Linear and supported activations")
    if layers is not None:
        jac = _stacked_jacobian(
            [w.unsqueeze(0) for w, _, _ in layers], [b.unsqueeze(0) for _, b, _ in layers],
            [a for _, _, a in layers], x,
        )[0]
    else:
        jac = batch_jacobian(network, x)
    return float(score_from_jacobian(jac, k=k))


_LAPACK: tuple | None = None


def _lapack() -> tuple:
    global _LAPACK
    if _LAPACK is None:
        from scipy.linalg.lapack import dpotrf, dtrtri

        _LAPACK = (dpotrf, dtrtri)
    return _LAPACK


def _scores_from_jacobians(jac: torch.Tensor, k: float) -> np.ndarray:
    """NASWOT scores ``S_t`` of Jacobians ``(T, B, F)`` (float64 numpy ``(T,)``).

    The same ``C`` as :func:`correlation_matrix` (in numpy; zero-variance rows handled
    alike) and the same ``S = -sum_i [ln(lambda_i + k) + 1/(lambda_i + k)]`` as
    :func:`score_from_jacobian`, without the eigenvalues themselves: with
    ``A = C + k I = U^T U`` (Cholesky), ``sum_i ln(lambda_i + k) = ln det A =
    2 sum_j ln U_jj`` and ``sum_i 1/(lambda_i + k) = tr A^-1 = ||U^-1||_F^2``. A Cholesky
    factor and a triangular inverse cost a fraction of a symmetric eigensolver at this
    size. ``A`` is positive definite for ``k > 0`` (``C`` is a Gram matrix) with condition
    number at most ``(B + k) / k``, so in float64 both forms agree to ~1e-9 relative or
    better (tests check it). If the factorisation fails anyway, or ``k <= 0``, the
    eigenvalues are used.
    """
    j = (jac if jac.is_cpu else jac.cpu()).detach().numpy().astype(np.float64)
    t, b, f = j.shape
    mean = j.sum(axis=-1)
    mean *= 1.0 / f
    quiet = contextlib.nullcontext() if np.isfinite(mean).all() else np.errstate(invalid="ignore")
    with quiet:  # a non-finite row (inf - inf) becomes NaN here
        j -= mean[..., None]
        c = np.matmul(j, j.transpose(0, 2, 1))  # centred Gram; its diagonal: squared row norms
        norm = np.sqrt(np.diagonal(c, axis1=1, axis2=2))
        # zero (or rounding-level, or non-finite) variance -> zero row and column, as in
        # correlation_matrix (a NaN norm compares False; a non-finite row has a NaN norm)
        ok = norm > 1e-10 * math.sqrt(f) * np.abs(mean)
    if not ok.all():
        j[~ok] = 0.0
        c = np.matmul(j, j.transpose(0, 2, 1))
        norm = np.where(ok, norm, 1.0)
    if k > 0:
        # C = D G D with D = diag(1 / norm), so A = C + k I = D G' D, G' = G + k D^-2: factor
        # G' (no rescaling pass; Cholesky is insensitive to the diagonal scaling), then
        # ln det A = ln det G' - 2 sum ln norm_i, tr A^-1 = sum_i norm_i^2 (G'^-1)_ii.
        # OpenBLAS runs these two single-threaded at this size (its dtrsm would start
        # threads, which under load costs more than it saves); the batched matmul above too
        dpotrf, dtrtri = _lapack()
        n2 = norm * norm
        c.reshape(t, b * b)[:, :: b + 1] += k * n2
        for i in range(t):
            ai = c[i].T  # the same symmetric matrix, Fortran-ordered: factorised in place
            u, info = dpotrf(ai, 0, 1, 1)  # (a, lower, clean, overwrite_a): positional is faster
            if info != 0:
                break
            ui, info = dtrtri(u, 0, 0, 1)  # (c, lower, unitdiag, overwrite_c): V^-1, in place
            if info != 0:
                break
            if ui is not ai:
                ai[...] = ui
        else:
            # G' = V^T V; c[i] holds (V^-1)^T: ln det G' = -2 sum ln (V^-1)_jj and
            # (G'^-1)_ii = ||row i of V^-1||^2 = ||column i of c[i]||^2
            logdet = -2.0 * np.log(np.diagonal(c, axis1=1, axis2=2)).sum(axis=-1) - np.log(n2).sum(axis=-1)
            return -(logdet + np.einsum("ti,ti->t", np.einsum("tji,tji->ti", c, c), n2))
        c = np.matmul(j, j.transpose(0, 2, 1))
    inv = 1.0 / norm
    c *= inv[:, :, None]  # C = D G D, D = diag(1 / norm)
    c *= inv[:, None, :]
    np.clip(c, -1.0, 1.0, out=c)
    lk = np.linalg.eigvalsh(c) + k
    with np.errstate(divide="ignore"):
        return -(np.log(lk) + 1.0 / lk).sum(axis=-1)


def _seeds(seed: int, n: int) -> list[int]:
    return [int(s.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for s in np.random.SeedSequence(seed).spawn(n)]


def architecture_jacobians(arch: Architecture, x: torch.Tensor, n_outputs: int, n_inits: int,
                           rng: np.random.Generator, pool: UniformPool | None = None) -> torch.Tensor:
    """Jacobians ``(T, B, F)`` (float32, up to a positive factor per row) of ``n_inits``
    initialisations of ``arch`` drawn from ``rng`` (the fast path of :func:`naswot_mean_score`)."""
    ws, bs, bounds, unit = _draw_layers(arch, x.shape[1], int(n_outputs), n_inits, rng, pool, output_bias=False)
    if x.device.type != "cpu":
        ws = [w.to(x.device) for w in ws]
        bs = [b.to(x.device) for b in bs]
    x32 = x if x.dtype == torch.float32 else x.to(torch.float32)
    return _fast_jacobian(ws, bs, bounds, unit, arch.activations, x32)


def naswot_mean_score(
    make_network: Union[NetworkFactory, Architecture],
    batch,
    *,
    n_inits: int = 5,
    k: float = DEFAULT_K,
    seed: int = 0,
    n_inputs: int | None = None,
    n_outputs: int | None = None,
    on_large_batch: LargeBatch = "clip",
    method: Method = "auto",
    threads: int | None = None,
    weights: Literal["fresh", "pool"] = "fresh",
) -> tuple[float, list[float]]:
    """Mean NASWOT score over ``n_inits`` initialisations: ``(mean - std, [S_1..S_T])``.

    Args:
        make_network: an :class:`Architecture` (needs ``n_outputs``; ``n_inputs``
            defaults to the batch's F), or a callable ``i -> nn.Module`` building the
            ``i``-th initialisation (called under a forked, seeded global RNG, so the
            caller's RNG state is untouched).
        batch: ``B x F`` descriptor rows (scaled as for training), ``B <= F``.
        n_inits: T.
        k: eigenvalue regulariser (paper 1e-5; MALA 1e-4).
        seed: makes the result repeatable.
        method: 'auto'/'analytic' score all T networks in one batched pass (weights of an
            Architecture are drawn directly, like ``nn.Linear``'s default init, from a
            numpy generator seeded with ``seed``); 'autograd' builds T modules and
            backpropagates each.
        threads: ``torch.set_num_threads`` for the duration of the call (None: leave).
        weights: Architecture path only. 'fresh' draws new weights for every call;
            'pool' takes them as windows of a process-wide pool of U(-1, 1) numbers
            (:class:`UniformPool`, 64 MiB, filled lazily; offset chosen from ``seed``): the
            same distribution per candidate, no drawing cost, and common random numbers
            across candidates (networks needing over half the pool get fresh weights).
            Both are repeatable for a given ``seed``.

    Returns:
        ``(S', scores)``; ``S' = -inf`` if any score is NaN.
    """
    if n_inits < 1:
        raise ValueError(f"n_inits must be >= 1, got {n_inits}")
    x = _check_batch(_as_tensor(batch), on_large_batch)
    with num_threads(threads) if threads is not None else contextlib.nullcontext():
        if isinstance(make_network, Architecture):
            arch = make_network
            n_in = int(n_inputs) if n_inputs is not None else x.shape[1]
            if n_in != x.shape[1]:
                raise ValueError(f"n_inputs={n_in} but the batch has F={x.shape[1]} features")
            if n_outputs is None:
                raise ValueError("n_outputs is required when make_network is an Architecture")
            if weights not in ("fresh", "pool"):
                raise ValueError(f"weights must be 'fresh' or 'pool', got {weights!r}")
            rng = np.random.default_rng(int(seed))
            pool = _default_pool() if weights == "pool" else None
            if method == "autograd":
                ws, bs, sc = _init_stacked(arch, n_in, int(n_outputs), n_inits, rng, torch.float32, x.device, pool)
                nets = stacked_to_modules(arch, ws, bs, sc)
                scores = [naswot_score(n, x, k=k, method="autograd") for n in nets]
            else:
                jac = architecture_jacobians(arch, x, int(n_outputs), n_inits, rng, pool)
                scores = _scores_from_jacobians(jac, k).tolist()
            return mean_minus_std(scores), [float(s) for s in scores]

        if not callable(make_network):
            raise TypeError("make_network must be an Architecture or a callable i -> nn.Module")
        nets = []
        for i, s in enumerate(_seeds(seed, n_inits)):
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(s)
                nets.append(make_network(i))
        parsed = [_parse_mlp(n) for n in nets] if method != "autograd" else [None] * len(nets)
        same = parsed[0] is not None and all(
            p is not None and len(p) == len(parsed[0])
            and all(a[0].shape == b[0].shape and a[2] == b[2] and a[0].dtype == b[0].dtype
                    and a[0].device == b[0].device for a, b in zip(p, parsed[0]))
            for p in parsed
        )
        if method == "analytic" and not same:
            raise ValueError("method='analytic' needs T identical-shape Linear/activation Sequentials")
        if same:
            n_layers = len(parsed[0])
            ws = [torch.stack([p[l][0] for p in parsed]) for l in range(n_layers)]
            bs = [torch.stack([p[l][1] for p in parsed]) for l in range(n_layers)]
            acts = [a for _, _, a in parsed[0]]
            scores = score_from_jacobian(_stacked_jacobian(ws, bs, acts, x), k=k).tolist()
        else:
            scores = [naswot_score(n, x, k=k, method="autograd") for n in nets]
        return mean_minus_std(scores), [float(s) for s in scores]
