import math

import numpy as np
import pytest
import torch

from surrogate_hpo.model import TrainingConfig, load_checkpoint, train
from surrogate_hpo.model.training import evaluate_loss


def test_training_reduces_validation_loss(regression, new_net):
    xt, yt, xv, yv = regression
    net = new_net()
    before = evaluate_loss(net, torch.from_numpy(xv), torch.from_numpy(yv))
    res = train(net, xt, yt, xv, yv, TrainingConfig(max_epochs=15, batch_size=32, learning_rate=3e-3))
    assert not res.diverged
    assert res.best_val_loss < 0.3 * before
    assert res.epochs_run == len(res.history) == 15
    h = res.history[0]
    assert {"epoch", "train_loss", "val_loss", "lr", "seconds"} <= set(h)
    # the network holds the best weights
    after = evaluate_loss(net, torch.from_numpy(xv), torch.from_numpy(yv))
    assert after == pytest.approx(res.best_val_loss, rel=1e-5)


def test_seed_gives_identical_runs(regression, new_net):
    xt, yt, xv, yv = regression
    cfg = TrainingConfig(max_epochs=3, batch_size=50, seed=7)
    r1 = train(new_net(), xt, yt, xv, yv, cfg)
    r2 = train(new_net(), xt, yt, xv, yv, cfg)
    assert [h["val_loss"] for h in r1.history] == [h["val_loss"] for h in r2.history]
    r3 = train(new_net(), xt, yt, xv, yv, TrainingConfig(max_epochs=3, batch_size=50, seed=8))
    assert [h["val_loss"] for h in r3.history] != [h["val_loss"] for h in r1.history]


def test_divergence_is_reported_not_raised(regression, new_net):
    xt, yt, xv, yv = regression
    res = train(new_net(), xt, yt, xv, yv, TrainingConfig(optimizer="sgd", learning_rate=1e6, max_epochs=5))
    assert res.diverged
    assert res.stopped_reason == "diverged"
    assert res.epochs_run < 5 or not math.isfinite(res.history[-1]["val_loss"])


def test_early_stopping_restores_best(regression, new_net):
    xt, yt, xv, yv = regression
    # validation targets unrelated to training -> val loss stops improving quickly
    rng = np.random.default_rng(1)
    yv_bad = rng.normal(size=yv.shape).astype(np.float32)
    net = new_net()
    res = train(net, xt, yt, xv, yv_bad,
                TrainingConfig(max_epochs=200, early_stopping_patience=2, lr_decay_patience=None,
                               learning_rate=1e-2))
    assert res.stopped_reason == "early_stopping"
    assert res.epochs_run == res.best_epoch + 3
    assert evaluate_loss(net, torch.from_numpy(xv), torch.from_numpy(yv_bad)) == pytest.approx(
        res.best_val_loss, rel=1e-5)


def test_callback_can_add_metrics_and_stop(regression, new_net):
    xt, yt, xv, yv = regression
    seen = []

    def hook(epoch, metrics):
        metrics["band_energy_error"] = 10.0 * metrics["val_loss"]
        seen.append(epoch)
        return epoch < 1  # stop after the second epoch

    res = train(new_net(), xt, yt, xv, yv, TrainingConfig(max_epochs=10), on_epoch_end=hook)
    assert seen == [0, 1]
    assert res.stopped_reason == "callback"
    assert all("band_energy_error" in h for h in res.history)


def test_lr_decay(regression, new_net):
    xt, yt, xv, yv = regression
    rng = np.random.default_rng(2)
    yv_bad = rng.normal(size=yv.shape).astype(np.float32)
    res = train(new_net(), xt, yt, xv, yv_bad,
                TrainingConfig(max_epochs=8, early_stopping_patience=None, lr_decay_patience=0,
                               lr_decay_factor=0.5, learning_rate=1e-2))
    lrs = [h["lr"] for h in res.history]
    assert lrs[-1] < lrs[0]


def test_checkpoint_during_training(regression, new_net, tmp_path):
    xt, yt, xv, yv = regression
    net = new_net()
    path = tmp_path / "best.pt"
    res = train(net, xt, yt, xv, yv, TrainingConfig(max_epochs=3), checkpoint_path=path,
                checkpoint_extra={"scalers": {"x": {"mean": np.zeros(3)}}})
    ck = load_checkpoint(path)
    assert ck.extra["epoch"] == res.best_epoch
    assert ck.extra["scalers"]["x"]["mean"] == [0.0, 0.0, 0.0]
    assert ck.config["max_epochs"] == 3
    x = torch.from_numpy(xv[:20])
    with torch.no_grad():
        assert torch.equal(ck.network(x), net(x))


def test_config_validation():
    with pytest.raises(ValueError, match="optimizer"):
        TrainingConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="unknown TrainingConfig keys"):
        TrainingConfig.from_dict({"learning_rate": 1e-3, "lr": 1})
    assert TrainingConfig.from_dict(TrainingConfig().to_dict()) == TrainingConfig()


def test_config_accepts_torch_device():
    assert TrainingConfig(device=torch.device("cpu")).device == "cpu"
    with pytest.raises(ValueError, match="device"):
        TrainingConfig(device="tpu")
