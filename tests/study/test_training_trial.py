"""Training on the bundled Al data reduces the validation loss and the band-energy error;
the study's trial helpers predict and train as the trials do."""

import numpy as np
import torch

from surrogate_hpo.model import Architecture, TrainingConfig, build_mlp, train
from surrogate_hpo.study.training_trial import policy_with, predict_ldos, train_network


def test_bundled_data_shapes(sample_data):
    d = sample_data
    assert d.n_features == 91  # twojmax=10 bispectrum
    assert d.train_x.shape[0] % 3000 == 0 and d.train_x.shape[0] >= 3 * 3000  # 3000 points per training snapshot
    assert len(d.validation) >= 1 and len(d.test) >= 1
    assert np.isfinite(d.train_x).all() and np.isfinite(d.train_y).all()


def test_training_reduces_validation_loss_and_band_energy_error(sample_data):
    d = sample_data
    torch.manual_seed(0)
    net = build_mlp(d.n_features, d.n_energies, widths=[64, 64], activations=["leakyrelu", "leakyrelu"])
    before = d.validation_errors(lambda s: predict_ldos(net, d, s))["band_energy_mae_mev_per_atom"]
    cfg = TrainingConfig(learning_rate=3e-3, batch_size=256, max_epochs=6, early_stopping_patience=None, seed=0)
    result = train(net, d.train_x, d.train_y, d.val_x, d.val_y, cfg)
    losses = [h["val_loss"] for h in result.history]
    assert not result.diverged
    assert min(losses[1:]) < losses[0]
    after = d.validation_errors(lambda s: predict_ldos(net, d, s))["band_energy_mae_mev_per_atom"]
    assert after < before


def test_train_network_is_repeatable_and_reports_the_validation_error(sample_data):
    policy = policy_with(TrainingConfig(), {"max_epochs": 2, "batch_size": 512, "early_stopping_patience": None})
    arch = Architecture([32, 32], ["tanh", "relu"])
    a = train_network(arch, policy, sample_data, seed=3)
    b = train_network(arch, policy, sample_data, seed=3)
    assert a.result.epochs_run == 2 and a.val_band_energy_mae == b.val_band_energy_mae > 0
    assert all(np.array_equal(x, y) for x, y in zip(a.network.state_dict().values(), b.network.state_dict().values()))
