"""Training on the bundled Al data reduces the validation loss and the band-energy error."""

import numpy as np
import torch

from surrogate_hpo.model import TrainingConfig, build_mlp, train
from surrogate_hpo.search.training_trial import predict_ldos
from surrogate_hpo.study.energy_metrics import EnergyEvaluator


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
    evaluator = EnergyEvaluator(d.validation)
    before = evaluator.errors(lambda s: predict_ldos(net, d, s))["band_energy_mae_mev_per_atom"]
    cfg = TrainingConfig(learning_rate=3e-3, batch_size=256, max_epochs=6, early_stopping_patience=None, seed=0)
    result = train(net, d.train_x, d.train_y, d.val_x, d.val_y, cfg)
    losses = [h["val_loss"] for h in result.history]
    assert not result.diverged
    assert min(losses[1:]) < losses[0]
    after = evaluator.errors(lambda s: predict_ldos(net, d, s))["band_energy_mae_mev_per_atom"]
    assert after < before
