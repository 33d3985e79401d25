"""A small regression problem and a network factory shared by the training tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from surrogate_hpo.model import build_mlp

N_IN, N_OUT = 12, 5


@pytest.fixture(scope="module")
def regression():
    """``(train_x, train_y, val_x, val_y)``: y = tanh(x W), 900 training and 300 validation rows."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1200, N_IN)).astype(np.float32)
    w = rng.normal(size=(N_IN, N_OUT)).astype(np.float32) / 3
    y = np.tanh(x @ w).astype(np.float32)
    return x[:900], y[:900], x[900:], y[900:]


@pytest.fixture
def new_net():
    """``new_net(seed=0)``: a fresh 12-32-32-5 tanh MLP with seeded weights."""

    def make(seed: int = 0):
        torch.manual_seed(seed)
        return build_mlp(N_IN, N_OUT, widths=[32, 32], activations="tanh")

    return make
