import math

import numpy as np
import pytest
import torch
from torch import nn

from surrogate_hpo.model import ACTIVATIONS, Architecture, build_mlp
from surrogate_hpo.scores import (
    correlation_matrix,
    mean_minus_std,
    naswot_mean_score,
    naswot_score,
    score_from_jacobian,
)

F, NE, B = 91, 70, 64


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(B, F, generator=g)


def _net(widths, act, seed=0):
    torch.manual_seed(seed)
    return build_mlp(F, NE, widths=widths, activations=act)


def test_direction_identical_rows_score_low(batch):
    # a linear network has the same Jacobian row at every point: C = ones, lambda = (B, 0, ..., 0)
    lin = _net([64, 64], "linear")
    s_lin = naswot_score(lin, batch)
    k = 1e-5
    expected = -(math.log(B + k) + 1 / (B + k)) - (B - 1) * (math.log(k) + 1 / k)
    assert s_lin == pytest.approx(expected, rel=1e-3)
    wide = _net([1024], "tanh")
    s_wide = naswot_score(wide, batch)
    assert s_wide > s_lin
    assert s_wide > -1e4  # near-decorrelated rows: no eigenvalue near zero


def test_best_possible_score_is_minus_b():
    # orthogonal rows -> C = identity -> S = -B(ln(1+k) + 1/(1+k)) ~ -B
    j = torch.eye(8, 16) - torch.roll(torch.eye(8, 16), 8, dims=1)  # zero-mean orthogonal rows
    s = float(score_from_jacobian(j, k=1e-5))
    assert s == pytest.approx(-8 * (math.log(1 + 1e-5) + 1 / (1 + 1e-5)), rel=1e-3)


def test_correlation_matches_numpy():
    j = torch.randn(20, 40, dtype=torch.float64)
    np.testing.assert_allclose(correlation_matrix(j).numpy(), np.corrcoef(j.numpy()), atol=1e-12)


def test_zero_variance_rows_do_not_give_nan(batch):
    net = _net([32, 32], "relu")
    with torch.no_grad():
        net[0].bias.fill_(-1e3)  # every first-layer ReLU dead -> J = 0 everywhere
    s = naswot_score(net, batch)
    k = 1e-5
    assert math.isfinite(s)
    assert s == pytest.approx(-B * (math.log(k) + 1 / k), rel=1e-9)
    # one zero row among good ones: finite, and ranked below the same rows without it
    j = torch.randn(10, 30, dtype=torch.float64)
    j0 = j.clone()
    j0[3] = 0.0
    c = correlation_matrix(j0)
    assert torch.isfinite(c).all() and c[3].abs().sum() == 0
    assert float(score_from_jacobian(j0)) < float(score_from_jacobian(j))
    jn = j.clone()
    jn[4, 2] = float("nan")
    jn[5, 1] = float("inf")
    jn[6] = 0.3  # constant non-zero row: no variance either
    cn = correlation_matrix(jn.float())
    assert torch.isfinite(cn).all()
    np.testing.assert_allclose(cn.diagonal().numpy(), [1, 1, 1, 1, 0, 0, 0, 1, 1, 1], atol=1e-12)
    assert math.isfinite(float(score_from_jacobian(jn)))


def test_invariant_to_batch_order(batch):
    net = _net([128, 64], "tanh")
    perm = torch.randperm(B, generator=torch.Generator().manual_seed(1))
    assert naswot_score(net, batch[perm]) == pytest.approx(naswot_score(net, batch), rel=1e-6)


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_analytic_jacobian_matches_autograd(batch, act):
    net = _net([64, 32], act)
    a = naswot_score(net, batch, method="analytic", k=1e-4)
    b = naswot_score(net, batch, method="autograd", k=1e-4)
    assert a == pytest.approx(b, rel=1e-3)


def test_mean_score_is_mean_minus_std_and_deterministic(batch):
    arch = Architecture([64, 64], ["relu", "sigmoid"])
    s1, scores1 = naswot_mean_score(arch, batch, n_outputs=NE, n_inits=4, seed=3)
    assert len(scores1) == 4
    assert s1 == pytest.approx(np.mean(scores1) - np.std(scores1))
    assert s1 == mean_minus_std(scores1)
    s2, scores2 = naswot_mean_score(arch, batch, n_outputs=NE, n_inits=4, seed=3)
    assert scores1 == scores2
    _, scores3 = naswot_mean_score(arch, batch, n_outputs=NE, n_inits=4, seed=4)
    assert scores3 != scores1
    # the batched path and per-network autograd on the same weights agree
    _, scores_ag = naswot_mean_score(arch, batch, n_outputs=NE, n_inits=4, seed=3, method="autograd")
    np.testing.assert_allclose(scores_ag, scores1, rtol=1e-3)


def test_mean_score_with_factory(batch):
    arch = Architecture([32, 32], "tanh")
    state = torch.get_rng_state()
    s, scores = naswot_mean_score(lambda i: arch.build(F, NE), batch, n_inits=3, seed=0)
    assert torch.equal(state, torch.get_rng_state())  # caller's RNG untouched
    s_again, scores_again = naswot_mean_score(lambda i: arch.build(F, NE), batch, n_inits=3, seed=0)
    assert scores == scores_again
    _, scores_ag = naswot_mean_score(lambda i: arch.build(F, NE), batch, n_inits=3, seed=0, method="autograd")
    np.testing.assert_allclose(scores_ag, scores, rtol=1e-3)

    class Custom(nn.Module):  # not a Sequential: autograd fallback
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(F, 16)
            self.b = nn.Linear(16, NE)

        def forward(self, x):
            return self.b(torch.tanh(self.a(x)))

    s_c, sc = naswot_mean_score(lambda i: Custom(), batch, n_inits=2, seed=0)
    assert math.isfinite(s_c) and len(sc) == 2


def test_batch_larger_than_features_is_clipped_or_rejected():
    x = torch.randn(40, 10)
    net = build_mlp(10, 3, widths=[16], activations="tanh")
    with pytest.warns(UserWarning, match="exceeds the number of input features F=10"):
        s = naswot_score(net, x)
    assert s == pytest.approx(naswot_score(net, x[:10]))
    with pytest.raises(ValueError, match="exceeds the number of input features"):
        naswot_score(net, x, on_large_batch="raise")
    with pytest.raises(ValueError, match="n_outputs is required"):
        naswot_mean_score(Architecture([8], "relu"), x[:10])


def test_numpy_batch_accepted(batch):
    net = _net([16], "relu")
    assert naswot_score(net, batch.numpy()) == pytest.approx(naswot_score(net, batch))


def test_weight_pool_is_repeatable_and_matches_modules(batch):
    arch = Architecture([64, 32], ["tanh", "relu"])
    s1, sc1 = naswot_mean_score(arch, batch, n_outputs=NE, n_inits=3, seed=5, weights="pool")
    s2, sc2 = naswot_mean_score(arch, batch, n_outputs=NE, n_inits=3, seed=5, weights="pool")
    assert sc1 == sc2 and math.isfinite(s1)
    _, sc_ag = naswot_mean_score(arch, batch, n_outputs=NE, n_inits=3, seed=5, weights="pool", method="autograd")
    np.testing.assert_allclose(sc_ag, sc1, rtol=1e-3)
    _, sc3 = naswot_mean_score(arch, batch, n_outputs=NE, n_inits=3, seed=6, weights="pool")
    assert sc3 != sc1
    with pytest.raises(ValueError, match="weights must be"):
        naswot_mean_score(arch, batch, n_outputs=NE, weights="shared")


def test_uniform_pool_content_independent_of_access_order():
    from surrogate_hpo.scores import UniformPool

    a, b = UniformPool(size=1 << 20, seed=1), UniformPool(size=1 << 20, seed=1)
    w1 = a.window(700_000, 1000).copy()
    b.window(0, 10)
    w2 = b.window(700_000, 1000)
    np.testing.assert_array_equal(w1, w2)
    assert w1.min() >= -1 and w1.max() < 1
    with pytest.raises(ValueError):
        a.window(1 << 20, 1)


# --------------------------------------------------------------------------- fast path


from surrogate_hpo.scores import naswot as nw  # noqa: E402


def _jacobians(seed=0, t=4, b=B, f=F):
    g = torch.Generator().manual_seed(seed)
    j = torch.randn(t, b, f, generator=g)
    j[:, :, : f // 2] += 3 * torch.randn(t, b, 1, generator=g)  # strongly correlated rows
    return j


@pytest.mark.parametrize("k", [1e-5, 1e-4, 1e-2])
def test_cholesky_scores_match_eigenvalue_form(k):
    j = _jacobians()
    np.testing.assert_allclose(nw._scores_from_jacobians(j, k), score_from_jacobian(j, k=k).numpy(), rtol=1e-9)
    # near-singular C (rank-deficient rows): the regime where 1/(lambda + k) dominates
    low = torch.randn(3, B, 5, dtype=torch.float64) @ torch.randn(3, 5, F, dtype=torch.float64)
    np.testing.assert_allclose(nw._scores_from_jacobians(low, k), score_from_jacobian(low, k=k).numpy(), rtol=1e-8)


def test_cholesky_scores_zero_and_nonfinite_rows():
    j = _jacobians(1, t=3, b=12, f=30).double()
    j[0, 3] = 0.0
    j[1, 4, 2] = float("nan")
    j[1, 5, 1] = float("inf")
    j[2, 6] = 0.3  # constant row
    got = nw._scores_from_jacobians(j, 1e-5)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, score_from_jacobian(j, k=1e-5).numpy(), rtol=1e-9)


def test_cholesky_failure_and_k_zero_fall_back_to_eigenvalues(monkeypatch):
    j = _jacobians(2, t=2, b=20, f=40)
    ref = score_from_jacobian(j, k=1e-4).numpy()
    dpotrf, dtrtri = nw._lapack()
    monkeypatch.setattr(nw, "_LAPACK", (lambda a, *args, **kw: (a, 1), dtrtri))  # "not positive definite"
    np.testing.assert_allclose(nw._scores_from_jacobians(j, 1e-4), ref, rtol=1e-10)
    monkeypatch.setattr(nw, "_LAPACK", (dpotrf, dtrtri))
    np.testing.assert_allclose(nw._scores_from_jacobians(j, 0.0), score_from_jacobian(j, k=0.0).numpy(), rtol=1e-9)


def test_draw_unit_is_uniform_on_the_float32_grid():
    u = nw._draw_unit(np.random.default_rng(0), 200_001)
    assert u.dtype == np.float32 and u.shape == (200_001,)
    assert np.array_equal(u, np.round(u))  # integers j, value j * 2**-23
    assert u.min() >= -(2**23) and u.max() < 2**23
    v = u.astype(np.float64) * nw._UNIT
    assert abs(v.mean()) < 0.01 and v.var() == pytest.approx(1 / 3, rel=0.01)
    counts = np.histogram(v, bins=16, range=(-1, 1))[0]
    assert counts.min() > 0.95 * len(v) / 16 and counts.max() < 1.05 * len(v) / 16
    assert np.array_equal(u, nw._draw_unit(np.random.default_rng(0), 200_001))  # seeded
    # an odd count is a prefix of the next even one: output_bias=False draws a prefix
    assert np.array_equal(nw._draw_unit(np.random.default_rng(3), 7), nw._draw_unit(np.random.default_rng(3), 8)[:7])


def test_init_stacked_is_nn_linear_default_init():
    arch = Architecture([128, 32], ["relu", "tanh"])
    ws, bs, sc = nw._init_stacked(arch, F, NE, 4, np.random.default_rng(0), torch.float32, torch.device("cpu"))
    assert [tuple(w.shape) for w in ws] == [(4, 128, F), (4, 32, 128), (4, NE, 32)]
    assert [tuple(b.shape) for b in bs] == [(4, 128), (4, 32), (4, NE)]
    for w, b, a, fan_in in zip(ws, bs, sc, (F, 128, 32)):
        assert a == pytest.approx(1 / math.sqrt(fan_in))
        assert w.abs().max() <= 1 and w.abs().max() > 0.99 and abs(float(w.mean())) < 0.02
        assert b.abs().max() <= a and float(w.std()) == pytest.approx(1 / math.sqrt(3), rel=0.05)


_FAST_ARCHS = [
    ([64, 128], ["relu", "tanh"]),
    ([32, 64, 128], ["sigmoid", "leakyrelu", "relu"]),
    ([128, 128, 128], ["tanh", "tanh", "sigmoid"]),
    ([48], ["leakyrelu"]),
    ([64, 32], ["linear", "linear"]),
    ([64, 32, 16, 256], ["leakyrelu", "linear", "tanh", "relu"]),
    ([32, 32], ["sigmoid", "linear"]),
]


@pytest.mark.parametrize("widths,acts", _FAST_ARCHS)
@pytest.mark.parametrize("weights", ["fresh", "pool"])
def test_fast_path_matches_float64_autograd_on_the_same_weights(batch, widths, acts, weights):
    arch = Architecture(widths, acts)
    k = 1e-4
    _, scores = naswot_mean_score(arch, batch, n_outputs=NE, n_inits=3, k=k, seed=7, weights=weights)
    pool = nw._default_pool() if weights == "pool" else None
    ws, bs, sc = nw._init_stacked(arch, F, NE, 3, np.random.default_rng(7), torch.float64, batch.device, pool)
    ref = [naswot_score(n, batch.double(), k=k, method="autograd") for n in nw.stacked_to_modules(arch, ws, bs, sc)]
    np.testing.assert_allclose(scores, ref, rtol=1e-5)


def test_fast_path_dead_relu_network_is_finite_and_lowest(batch):
    # B = F: the centred rows have rank <= F - 1, so C has a zero eigenvalue; and a huge
    # negative bias kills every ReLU -> J = 0 everywhere -> all-zero C
    arch = Architecture([16, 16], ["relu", "relu"])
    ws, bs, bounds, unit = nw._draw_layers(arch, F, NE, 2, np.random.default_rng(0), output_bias=False)
    bs = [torch.full_like(bs[0], -1e9 / (bounds[0] * unit)), bs[1]]
    jac = nw._fast_jacobian(ws, bs, bounds, unit, arch.activations, batch)
    assert float(jac.abs().max()) == 0.0
    s = nw._scores_from_jacobians(jac, 1e-5)
    np.testing.assert_allclose(s, -B * (math.log(1e-5) + 1e5), rtol=1e-12)


def test_mean_minus_std_matches_numpy():
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 7, 100):
        a = rng.standard_normal(n) * 1e3 - 5e4
        assert mean_minus_std(list(a)) == pytest.approx(float(a.mean() - a.std()), rel=1e-12, abs=1e-9)
    assert mean_minus_std([1.0, float("nan")]) == -math.inf
    with pytest.raises(ValueError):
        mean_minus_std([])
