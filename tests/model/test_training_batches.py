"""``train(..., train_batches=...)``: streamed batches instead of in-memory arrays."""

from __future__ import annotations

import pytest
import torch

from surrogate_hpo.data import in_memory_batches, iterate_batches
from surrogate_hpo.model import TrainingConfig, train


def test_train_batches_decreasing_loss(regression, new_net):
    xt, yt, xv, yv = regression
    calls = []

    def batches(epoch):
        calls.append(epoch)
        return iterate_batches(xt, yt, 32, seed=(5, epoch))

    res = train(new_net(), None, None, xv, yv, TrainingConfig(max_epochs=8, learning_rate=3e-3),
                train_batches=batches)
    assert calls == list(range(8))
    losses = [h["train_loss"] for h in res.history]
    assert losses[-1] < 0.5 * losses[0]
    assert res.history[-1]["val_loss"] < res.history[0]["val_loss"]
    assert not res.diverged and res.epochs_run == 8


def test_same_batches_same_result_as_arrays(regression, new_net):
    xt, yt, xv, yv = regression
    cfg = TrainingConfig(max_epochs=4, batch_size=50, seed=11)
    ref = train(new_net(), xt, yt, xv, yv, cfg)

    # the batches train() draws itself: one randperm per epoch from a generator seeded with cfg.seed
    gen = torch.Generator().manual_seed(11)
    xt_t, yt_t = torch.from_numpy(xt), torch.from_numpy(yt)

    def same(epoch):
        perm = torch.randperm(len(xt), generator=gen)
        for s in range(0, len(xt), 50):
            idx = perm[s:s + 50]
            yield xt_t[idx], yt_t[idx]

    got = train(new_net(), None, None, xv, yv, cfg, train_batches=same)
    assert [h["train_loss"] for h in got.history] == [h["train_loss"] for h in ref.history]
    assert [h["val_loss"] for h in got.history] == [h["val_loss"] for h in ref.history]


def test_in_memory_factory_and_numpy_batches(regression, new_net):
    xt, yt, xv, yv = regression
    factory = in_memory_batches((xt, yt), batch_size=40, seed=0, x_scaler=None, y_scaler=None)
    res = train(new_net(), None, None, xv, yv, TrainingConfig(max_epochs=3), train_batches=factory)
    assert res.epochs_run == 3 and not res.diverged

    def numpy_batches(epoch):  # numpy arrays are accepted too
        for s in range(0, len(xt), 100):
            yield xt[s:s + 100], yt[s:s + 100]

    res = train(new_net(), None, None, xv, yv, TrainingConfig(max_epochs=2), train_batches=numpy_batches)
    assert res.epochs_run == 2


def test_errors(regression, new_net):
    xt, yt, xv, yv = regression
    with pytest.raises(ValueError, match="train_batches"):
        train(new_net(), None, None, xv, yv, TrainingConfig(max_epochs=1))
    with pytest.raises(ValueError, match="no rows"):
        train(new_net(), None, None, xv, yv, TrainingConfig(max_epochs=1), train_batches=lambda e: iter(()))
