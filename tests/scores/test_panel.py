"""The registered scores: each one's defining property on hand-built networks and batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from surrogate_hpo.model import Architecture
from surrogate_hpo.scores import SCORES, ScoreBatch, ScoreSettings, make_score
from surrogate_hpo.scores.naswot import naswot_mean_score
from surrogate_hpo.search.scoring import rank_trap

F, NE, B = 24, 10, 16


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, F)).astype(np.float32)
    y = rng.uniform(size=(B, NE)).astype(np.float32)
    rows = (rng.normal(size=(512, F)).astype(np.float32), rng.uniform(size=(512, NE)).astype(np.float32))
    return ScoreBatch(x=x, y=y, n_outputs=NE, train=rows, validation=rows)


ARCH = Architecture([32, 16], ["tanh", "relu"])


@pytest.mark.parametrize("name", sorted(SCORES))
def test_every_score_is_a_finite_repeatable_float(name, batch):
    score = make_score(name, ScoreSettings(n_inits=3))
    a, b = score(ARCH, batch, seed=5), score(ARCH, batch, seed=5)
    assert isinstance(a, float) and np.isfinite(a) and a == b


def test_unknown_score_names_the_known_ones():
    from surrogate_hpo.errors import ConfigError

    with pytest.raises(ConfigError, match="choose one of .*naswot"):
        make_score("magic", ScoreSettings())


def test_n_params_and_flops_are_exact(batch):
    arch = Architecture([7, 5], ["relu", "relu"])
    assert make_score("n_params", ScoreSettings())(arch, batch, seed=0) == (F * 7 + 7) + (7 * 5 + 5) + (5 * NE + NE)
    assert make_score("flops", ScoreSettings())(arch, batch, seed=0) == F * 7 + 7 * 5 + 5 * NE


def test_jacob_cov_is_one_initialisation_of_naswot(batch):
    one, _ = naswot_mean_score(ARCH, batch.x, n_outputs=NE, n_inits=1, seed=9)
    assert make_score("jacob_cov", ScoreSettings())(ARCH, batch, seed=9) == pytest.approx(one, rel=1e-7)
    mean = make_score("naswot_mean", ScoreSettings(n_inits=4))(ARCH, batch, seed=9)
    paper = make_score("naswot", ScoreSettings(n_inits=4))(ARCH, batch, seed=9)
    assert paper <= mean  # mean - std


def test_the_rank_trap_and_the_score_that_escapes_it():
    """B = 20 points (< F = 24), a first layer of 8: naswot gets >= 20-1-8 zero eigenvalues
    costing ~1/k each; naswot_nonnull scores only the 8 reachable ones, so k drops out."""
    rng = np.random.default_rng(1)
    big = ScoreBatch(x=rng.normal(size=(20, F)).astype(np.float32), y=None, n_outputs=NE)
    narrow = Architecture([8, 32], ["tanh", "tanh"])

    def scores(name: str, k: float) -> float:
        return make_score(name, ScoreSettings(n_inits=2, k=k))(narrow, big, seed=0)

    assert scores("naswot", 1e-5) < -0.9 * (20 - 1 - 8) / 1e-5
    assert scores("naswot", 1e-6) / scores("naswot", 1e-5) == pytest.approx(10.0, rel=0.05)
    nonnull = scores("naswot_nonnull", 1e-5)
    assert np.isfinite(nonnull) and nonnull > -1e4  # set by the reachable eigenvalues, not by 1/k
    assert scores("naswot_nonnull", 1e-6) == pytest.approx(nonnull, rel=0.01)
    # and the warning names the narrow layers before any scoring
    warning = rank_trap("naswot", 64, [8, 32, 128])
    assert "width [8, 32]" in warning and "method.batch_size=8 removes it" in warning
    assert rank_trap("naswot", 16, [32, 64]) is None and rank_trap("naswot_nonnull", 64, [8]) is None


def test_naswot_relu_is_lowest_for_a_network_whose_units_never_switch(batch):
    score = make_score("naswot_relu", ScoreSettings(n_inits=1))
    normal = score(ARCH, batch, seed=0)
    shifted = ScoreBatch(x=batch.x + 1e4, y=batch.y, n_outputs=NE)  # every point far on one side: one code
    assert score(ARCH, shifted, seed=0) < normal - 10


def test_synflow_uses_no_data(batch):
    score = make_score("synflow", ScoreSettings(n_inits=2))
    other = ScoreBatch(x=np.zeros_like(batch.x), y=None, n_outputs=NE)
    assert score(ARCH, batch, seed=1) == score(ARCH, other, seed=1) > 0


def test_snip_is_the_sum_of_weight_times_gradient(batch):
    from surrogate_hpo.scores._networks import networks

    (net,) = networks(ARCH, F, NE, 1, 3)
    x, y = torch.as_tensor(batch.x), torch.as_tensor(batch.y)
    weights = [p for p in net.parameters() if p.ndim == 2]
    grads = torch.autograd.grad(torch.nn.functional.mse_loss(net(x), y), weights)
    expect = sum(float((w.detach() * g).abs().sum()) for w, g in zip(weights, grads))
    assert make_score("snip", ScoreSettings(n_inits=1))(ARCH, batch, seed=3) == pytest.approx(expect, rel=1e-6)


def test_loss_based_scores_depend_on_the_targets(batch):
    other = ScoreBatch(x=batch.x, y=batch.y * 3.0, n_outputs=NE)
    for name in ("grad_norm", "snip", "fisher", "zico"):
        score = make_score(name, ScoreSettings(n_inits=1))
        assert score(ARCH, batch, seed=0) != score(ARCH, other, seed=0), name
    assert make_score("fisher", ScoreSettings(n_inits=1))(ARCH, batch, seed=0) >= 0


def test_short_training_is_minus_a_validation_loss(batch):
    v = make_score("short_training", ScoreSettings())(ARCH, batch, seed=0)
    assert v < 0
    with pytest.raises(ValueError, match="needs training and validation rows"):
        make_score("short_training", ScoreSettings())(ARCH, ScoreBatch(batch.x, batch.y, NE), seed=0)
