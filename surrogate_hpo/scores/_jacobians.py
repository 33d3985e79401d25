"""The Jacobians NASWOT-type scores need, and the batched initialisation of T networks.

``batch_jacobian`` (autograd) works for any module; ``_stacked_jacobian`` is the explicit
backward pass of T stacked Linear/activation networks; ``_init_stacked`` draws T weight
sets like ``nn.Linear``'s default initialisation straight into stacked tensors (fresh, or
from a :class:`UniformPool` of common random numbers) and ``_fast_jacobian`` runs them in
float32 with constant factors folded into the matmuls (see :mod:`.naswot`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..model.network import ACTIVATIONS, Architecture

_ACT_TYPES: dict[type, str] = {cls: name for name, cls in ACTIVATIONS.items()}

# --------------------------------------------------------------------------- Jacobians


def batch_jacobian(network: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """Rows ``d(sum of outputs)/dx_i`` for every point (autograd, one backward)."""
    p = next(network.parameters(), None)
    x = batch.detach().clone()
    if p is not None:
        x = x.to(device=p.device, dtype=p.dtype)
    x.requires_grad_(True)
    with torch.enable_grad():
        y = network(x)
        (g,) = torch.autograd.grad(y.sum(), x)
    return g.detach()


def _parse_mlp(network: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor, str]] | None:
    """``[(W, b, activation-after), ...]`` for a Linear/activation Sequential, else None."""
    if not isinstance(network, nn.Sequential):
        return None
    layers: list[tuple[torch.Tensor, torch.Tensor, str]] = []
    for m in network:
        if isinstance(m, nn.Linear):
            if m.bias is None:
                return None
            layers.append((m.weight.detach(), m.bias.detach(), "linear"))
        elif type(m) in _ACT_TYPES and layers and layers[-1][2] == "linear":
            if isinstance(m, nn.LeakyReLU) and m.negative_slope != 0.01:
                return None
            w, b, _ = layers[-1]
            layers[-1] = (w, b, _ACT_TYPES[type(m)])
        else:
            return None
    if not layers or layers[-1][2] != "linear":
        return None
    return layers


def _act_and_grad(z: torch.Tensor, name: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Activation value and its derivative (None means 1)."""
    if name == "linear":
        return z, None
    if name == "relu":
        d = (z > 0).to(z.dtype)
        return z * d, d
    if name == "leakyrelu":  # slope 0.01 (nn.LeakyReLU default)
        d = (z > 0).to(z.dtype).mul_(0.99).add_(0.01)
        return z * d, d
    if name == "tanh":
        a = torch.tanh(z)
        return a, 1.0 - a * a
    if name == "sigmoid":
        a = torch.sigmoid(z)
        return a, a * (1.0 - a)
    raise ValueError(f"unsupported activation {name!r}")


def _stacked_jacobian(
    weights: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor],
    acts: Sequence[str],
    x: torch.Tensor,
    scales: Sequence[float] | None = None,
) -> torch.Tensor:
    """Jacobians ``(T, B, F)`` of ``T`` MLPs with stacked weights ``scales[l] * weights[l]``.

    ``weights[l]``: ``(T, out, in)``; ``biases[l]``: ``(T, out)``; ``acts[l]`` is the
    activation after layer ``l`` (the last is 'linear'); ``scales`` (default 1) lets
    unit-range weights be used without a scaled copy. Explicit forward and backward
    pass in batched matmuls; no autograd.
    """
    x = x.to(dtype=weights[0].dtype, device=weights[0].device)
    sc = [1.0] * len(weights) if scales is None else [float(a) for a in scales]
    t = weights[0].shape[0]
    h = x.unsqueeze(0).expand(t, -1, -1)
    grads: list[torch.Tensor | None] = []
    with torch.no_grad():
        for i in range(len(weights) - 1):
            # weights[i].transpose(1, 2) is contiguous for weights from _init_stacked
            z = torch.baddbmm(biases[i].unsqueeze(1), h, weights[i].transpose(1, 2), alpha=sc[i])
            h, d = _act_and_grad(z, acts[i])
            grads.append(d)
        # d(sum of outputs)/d(last hidden) = column sums of the output weight: (T, 1, w_last)
        g = weights[-1].sum(dim=1, keepdim=True) * sc[-1]
        for i in range(len(weights) - 2, -1, -1):
            d = grads[i]
            if d is not None:
                g = g * d
            g = g @ weights[i]
            if sc[i] != 1.0:
                g.mul_(sc[i])
        if g.shape[1] == 1:  # all-linear network: the same row for every point
            g = g.expand(-1, x.shape[0], -1)
    return g


class UniformPool:
    """A fixed virtual array of ``size`` i.i.d. U(-1, 1) float32 numbers (common random numbers).

    Chunk ``c`` is drawn from ``SeedSequence([seed, c])`` the first time a window touches
    it, so the content never depends on the order of use. ``window(start, n)`` returns a
    read-only view. Weights for one candidate are consecutive, non-overlapping windows
    (all independent); different candidates share numbers at random offsets, which
    leaves every candidate's score distribution unchanged and correlates the noise
    between candidates (a variance reduction for ranking).
    """

    CHUNK = 1 << 18

    def __init__(self, size: int = 1 << 24, seed: int = 0) -> None:
        self.size = int(size)
        self.seed = int(seed)
        self._data = np.empty(self.size, dtype=np.float32)
        self._filled = np.zeros((self.size + self.CHUNK - 1) // self.CHUNK, dtype=bool)

    def window(self, start: int, n: int) -> np.ndarray:
        if start < 0 or start + n > self.size:
            raise ValueError(f"window [{start}, {start + n}) outside the pool of {self.size}")
        c0, c1 = start // self.CHUNK, (start + n - 1) // self.CHUNK
        for c in range(c0, c1 + 1):
            if not self._filled[c]:
                lo, hi = c * self.CHUNK, min((c + 1) * self.CHUNK, self.size)
                chunk = self._data[lo:hi]
                np.random.default_rng([self.seed, c]).random(out=chunk, dtype=np.float32)
                chunk *= 2
                chunk -= 1
                self._filled[c] = True
        v = self._data[start:start + n]
        v.flags.writeable = False
        return v


_POOLS: dict[tuple[int, int], UniformPool] = {}


def _default_pool(size: int = 1 << 24, seed: int = 0) -> UniformPool:
    key = (int(size), int(seed))
    if key not in _POOLS:
        _POOLS[key] = UniformPool(size, seed)
    return _POOLS[key]


_UNIT = 2.0 ** -23
"""Grid of fresh weights: U[-1, 1) on ``j * 2**-23``, ``j = -2**23 .. 2**23 - 1`` (2**24
equally likely values: the grid of numpy's float32 ``random()`` mapped by ``2u - 1``)."""


def _draw_unit(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` i.i.d. uniform integers ``j`` in ``[-2**23, 2**23)`` as float32 (exact);
    ``j * _UNIT`` is U[-1, 1) (see :data:`_UNIT`).

    Two numbers per 64-bit output of ``rng``'s bit generator (the upper 24 bits of each
    32-bit half, as a signed integer): no per-number call and no float arithmetic --
    less than half the cost of ``rng.random(dtype=np.float32)`` and ``2u - 1``.
    """
    r = rng.bit_generator.random_raw((n + 1) // 2).view(np.int32)[:n]
    r >>= 8  # arithmetic shift: a uniform integer in [-2**23, 2**23)
    return r.astype(np.float32)


def _layer_pairs(arch: Architecture, n_in: int, n_out: int) -> list[tuple[int, int]]:
    sizes = [int(n_in), *arch.widths, int(n_out)]
    return list(zip(sizes[:-1], sizes[1:]))


def _draw_layers(
    arch: Architecture, n_in: int, n_out: int, n_inits: int, rng: np.random.Generator,
    pool: UniformPool | None = None, output_bias: bool = True,
) -> tuple[list[torch.Tensor], list[torch.Tensor], list[float], float]:
    """Weights and biases of ``T`` networks, PyTorch's ``nn.Linear`` default init, float32.

    Returns ``(ws, bs, bounds, unit)``: layer ``l`` of network ``t`` is
    ``x -> bounds[l] * unit * (x @ W + bs[l][t])`` with ``bounds[l] = 1/sqrt(fan_in)``,
    ``W = ws[l][t]`` for hidden layers (``ws[l]``: ``(T, in, out)``) and
    ``W = ws[-1][t].T`` for the output layer (``ws[-1]``: ``(T, out, in)``, whose column
    sums are one reduction over the middle axis); ``bs[l]``: ``(T, 1, out)``. Fresh draws
    (:func:`_draw_unit`): integers, ``unit = 2**-23``; with a ``pool``: U(-1, 1) windows of
    it at an ``rng``-chosen offset, ``unit = 1``. All numbers of a call are consecutive in
    one stream (layer by layer: weights, then biases), so ``output_bias=False`` (the
    output bias never enters ``J``) uses a prefix of the same numbers.
    """
    pairs = _layer_pairs(arch, n_in, n_out)
    t = int(n_inits)
    n = t * sum(fi * fo + fo for fi, fo in pairs)
    m = n if output_bias else n - t * pairs[-1][1]
    flat = None
    unit = _UNIT
    if pool is not None and n <= pool.size // 2:  # else too large to share usefully: fresh
        off = int(rng.integers(0, pool.size - n + 1))
        flat = _readonly_tensor(pool.window(off, m))
        unit = 1.0
    if flat is None:
        flat = torch.from_numpy(_draw_unit(rng, m))
    ws, bs, bounds = [], [], []
    o = 0
    last = len(pairs) - 1
    for i, (fi, fo) in enumerate(pairs):
        ws.append(flat[o:o + t * fi * fo].view((t, fo, fi) if i == last else (t, fi, fo)))
        o += t * fi * fo
        if output_bias or i < last:
            bs.append(flat[o:o + t * fo].view(t, 1, fo))
            o += t * fo
        bounds.append(1.0 / math.sqrt(fi))
    return ws, bs, bounds, unit


def _init_stacked(
    arch: Architecture, n_in: int, n_out: int, n_inits: int, rng: np.random.Generator,
    dtype: torch.dtype, device: torch.device, pool: UniformPool | None = None,
) -> tuple[list[torch.Tensor], list[torch.Tensor], list[float]]:
    """``T`` sets of weights like PyTorch's ``nn.Linear`` default init, U(+-1/sqrt(fan_in)).

    Returns ``(weights, biases, scales)``: ``weights[l]`` are U(-1, 1) of shape
    ``(T, out, in)`` (hidden layers: views of ``(T, in, out)`` storage), the layer's weight
    is ``scales[l] * weights[l]``; biases are scaled. These are exactly the numbers
    :func:`naswot_mean_score` uses for the same ``rng`` state (:func:`_draw_layers`).
    """
    ws, bs, bounds, unit = _draw_layers(arch, n_in, n_out, n_inits, rng, pool)
    last = len(ws) - 1
    weights = []
    for i, w in enumerate(ws):
        w = w.to(device=device, dtype=dtype) * unit  # exact (a power of two)
        weights.append(w if i == last else w.transpose(1, 2))
    biases = [(b[:, 0, :].to(torch.float64) * (a * unit)).to(device=device, dtype=dtype) for b, a in zip(bs, bounds)]
    return weights, biases, bounds


_QUARTER = torch.tensor(0.25)
_LEAKY_SLOPE = torch.tensor(0.01)
_ZERO = torch.tensor(0.0)


def _fast_jacobian(
    ws: Sequence[torch.Tensor], bs: Sequence[torch.Tensor], bounds: Sequence[float], unit: float,
    acts: Sequence[str], x: torch.Tensor,
) -> torch.Tensor:
    """Jacobians ``(T, B, F)`` of the ``T`` MLPs of :func:`_draw_layers`, each up to a
    positive constant factor (which ``corrcoef`` ignores); ``acts``: hidden activations.

    Explicit forward and backward pass in batched float32 matmuls, no autograd. Left out
    or folded into the matmuls' scalars: the weight scales in the backward pass,
    ``tanh(z) = 2 sigmoid(2 z) - 1`` (``sigmoid`` is ~3x cheaper than ``tanh`` here; its
    derivative is ``4 s (1 - s)``), leaky ReLU's slopes ``1 : 0.01``. The output layer's
    forward pass is skipped: only its column sums enter ``J``.
    """
    t = ws[0].shape[0]
    h = x.expand(t, -1, -1)
    quarter, slope, zero = _QUARTER, _LEAKY_SLOPE, _ZERO
    if x.device.type != "cpu":
        quarter, slope, zero = (c.to(x.device) for c in (quarter, slope, zero))
    hmul = 1.0  # the layer input is hmul * h
    nh = len(acts)
    ds: list[torch.Tensor | None] = []
    with torch.no_grad():
        for i, act in enumerate(acts):
            last = i == nh - 1
            c = bounds[i] * unit * (2.0 if act == "tanh" else 1.0)
            z = torch.baddbmm(bs[i], h, ws[i], beta=c, alpha=c * hmul)
            hmul = 1.0
            if act == "relu":
                if last:
                    d = z.relu_().sign_()
                else:
                    h = z.relu_()
                    d = torch.sign(h)
            elif act == "leakyrelu":
                if not last:
                    h = torch.nn.functional.leaky_relu(z, 0.01)
                d = torch.add(slope, z.relu_().sign_(), alpha=0.99)  # 1 (z > 0) or 0.01
            elif act == "sigmoid":
                h = z.sigmoid_()
                d = torch.addcmul(h, h, h, value=-1.0)  # s (1 - s)
            elif act == "tanh":
                h = z.sigmoid_().add_(-0.5)  # tanh = 2 h
                hmul = 2.0
                d = torch.addcmul(quarter, h, h, value=-1.0)  # (1 - tanh^2) / 4
            elif act == "linear":
                h, d = z, None
            else:
                raise ValueError(f"unsupported activation {act!r}")
            ds.append(d)
        # d(sum of outputs)/d(last hidden) = column sums of the output weight: (T, 1, width)
        g = ws[nh].sum(dim=1, keepdim=True)
        if unit != 1.0:
            g.mul_(unit)
        if ds[-1] is not None:
            g = ds[-1].mul_(g)
        for i in range(nh - 1, -1, -1):
            wt = ws[i].transpose(1, 2)
            # d/d(input of hidden layer i); unit keeps integer weights' products in range
            g = torch.bmm(g, wt) if unit == 1.0 else torch.baddbmm(zero, g, wt, beta=0.0, alpha=unit)
            if i > 0 and ds[i - 1] is not None:
                d = ds[i - 1]
                g = g.mul_(d) if g.shape[1] == d.shape[1] else g * d
        if g.shape[1] == 1:  # all-linear network: the same row for every point
            g = g.expand(-1, x.shape[0], -1)
    return g


def _readonly_tensor(a: np.ndarray) -> torch.Tensor:
    """Zero-copy tensor over a read-only array (never written to here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "The given NumPy array is not writable"
        return torch.from_numpy(a)


def stacked_to_modules(
    arch: Architecture, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor],
    scales: Sequence[float] | None = None,
) -> list[nn.Sequential]:
    """The ``T`` networks behind stacked weights, as ``nn.Sequential`` (for checks/peers)."""
    sc = [1.0] * len(weights) if scales is None else list(scales)
    n_in, n_out = weights[0].shape[2], weights[-1].shape[1]
    nets = []
    for t in range(weights[0].shape[0]):
        net = arch.build(n_in, n_out, dtype=weights[0].dtype)
        lin = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for m, w, b, a in zip(lin, weights, biases, sc):
                m.weight.copy_(w[t] * a)
                m.bias.copy_(b[t])
        nets.append(net)
    return nets
