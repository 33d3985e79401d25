"""Training one network in a trial: train, predict, measure energy errors, report.

:func:`train_network` is what every training-based stage calls; :func:`train_and_evaluate`
is the trial of the final evaluation (one trial per seed), which reports once per epoch
(``val_loss``, ``val_band_energy_mae_mev_per_atom``) and once at the end with the test
errors and a checkpoint (weights, scalers, architecture, policy).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ray import tune

from ..data.prepared import PreparedData
from ..inference.bundle import write_bundle
from ..model import Architecture, TrainingConfig, resolve_device, save_checkpoint, train
from ..util.chunks import row_slices
from .ray_runtime import trial_gpu_ids

__all__ = ["TrainedNetwork", "policy_with", "predict_ldos", "train_and_evaluate", "train_network",
           "validation_band_energy_mae"]


def policy_with(policy: TrainingConfig, changes: dict[str, Any]) -> TrainingConfig:
    """``policy`` with some keys replaced (searched values); ValueError on a bad value."""
    return dataclasses.replace(policy, **changes) if changes else policy


def predict_ldos(network: Any, data: PreparedData, snapshot: Any, *, device: Any = "cpu",
                 chunk_rows: int = 65536) -> np.ndarray:
    """Predicted LDOS of ``snapshot`` in 1/(eV·Å³), ``(n_points, nE)``."""
    import torch

    x = data.scaled_inputs(snapshot)
    out = np.empty((x.shape[0], data.n_energies), dtype=np.float32)
    network.eval()
    with torch.no_grad():
        for rows in row_slices(x.shape[0], chunk_rows):
            out[rows] = network(torch.as_tensor(x[rows], device=device)).float().cpu().numpy()
    return np.asarray(data.y_scaler.inverse_transform(out), dtype=np.float32)


@dataclass
class TrainedNetwork:
    """One finished training: the network, what training returned, the validation error."""

    network: Any
    architecture: Architecture
    result: Any
    device: Any
    seconds: float
    val_band_energy_mae: float  # meV/atom; inf when training diverged


def train_network(architecture: Architecture | dict[str, Any], policy: TrainingConfig | dict[str, Any],
                  data: PreparedData, *, seed: int, threads: int = 1,
                  on_epoch_end: Callable[[Any, int, dict[str, Any]], None] | None = None) -> TrainedNetwork:
    """Build ``architecture`` and train it with ``policy`` on ``data`` (seed ``seed``);
    ``on_epoch_end(network, epoch, metrics)`` sees each epoch. Plain dicts are accepted
    (``{"widths", "activations"}``; TrainingConfig keys over its defaults)."""
    if isinstance(architecture, dict):
        architecture = Architecture.from_dict(architecture)
    if isinstance(policy, dict):
        policy = policy_with(TrainingConfig(), {k: v for k, v in policy.items() if k != "seed"})
    import torch


    torch.set_num_threads(max(1, threads))
    # arrays from Ray's object store are read-only; training only reads them
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    device = resolve_device(str(policy.device))
    torch.manual_seed(seed)
    net = architecture.build(data.n_features, data.n_energies).to(device)
    tc = dataclasses.replace(policy, seed=seed, device=str(device))
    callback = None if on_epoch_end is None else (lambda epoch, metrics: on_epoch_end(net, epoch, metrics))
    t0 = time.perf_counter()
    if data.train_stream is not None:  # rows from Parquet shards through Ray Data
        batches = data.train_stream.batches(batch_size=tc.batch_size, seed=seed, device=device,
                                            x_scaler=data.x_scaler, y_scaler=data.y_scaler)
        result = train(net, None, None, data.val_x, data.val_y, tc, on_epoch_end=callback, train_batches=batches)
    else:
        result = train(net, data.train_x, data.train_y, data.val_x, data.val_y, tc, on_epoch_end=callback)
    seconds = time.perf_counter() - t0
    val = math.inf if result.diverged else validation_band_energy_mae(net, data, device)
    return TrainedNetwork(net, architecture, result, device, seconds, val)


def validation_band_energy_mae(network: Any, data: PreparedData, device: Any = "cpu") -> float:
    """MAE of the band energy over the validation snapshots, meV/atom."""
    errs = data.validation_errors(lambda s: predict_ldos(network, data, s, device=device))
    return float(errs["band_energy_mae_mev_per_atom"])


def train_and_evaluate(config: dict[str, Any], *, architecture: Architecture, policy: TrainingConfig,
                       data: PreparedData, threads: int = 1, bundle: dict[str, Any] | None = None) -> None:
    """Tune trial of the final evaluation: train with seed ``config['seed']``, report the
    validation and test energy errors and a checkpoint (``model.pt`` and, given the study's
    ``bundle`` metadata, the model bundle). A diverged run (NaN/inf loss) is reported with
    ``diverged=True`` and no errors."""

    seed = int(config["seed"])

    def on_epoch_end(net: Any, epoch: int, metrics: dict[str, Any]) -> None:
        tune.report({k: v for k, v in metrics.items() if isinstance(v, (int, float, str, bool))})

    started_at = time.time()
    fit = train_network(architecture, policy, data, seed=seed, threads=threads, on_epoch_end=on_epoch_end)
    net, device, result = fit.network, fit.device, fit.result
    final: dict[str, Any] = {
        "seed": seed,
        "diverged": bool(result.diverged),
        "best_val_loss": float(result.best_val_loss),
        "epochs": int(result.epochs_run),
        "reached_epoch_cap": bool(result.epochs_run >= policy.max_epochs),
        "train_seconds": fit.seconds,
        "train_rows_per_epoch": int(result.history[-1]["rows"]) if result.history else 0,
        "streamed": data.train_stream is not None,
        "device": str(device),
        "gpu_ids": ",".join(trial_gpu_ids()),
        "started_at": started_at,  # unix seconds of the training's start and end
        "finished_at": time.time(),
    }
    if result.diverged:
        tune.report(final)
        return
    final["val_band_energy_mae_mev_per_atom"] = fit.val_band_energy_mae
    test = data.test_errors(lambda s: predict_ldos(net, data, s, device=device))
    final.update({f"test_{k}": v for k, v in test.items()})
    with tempfile.TemporaryDirectory() as tmp:
        save_checkpoint(
            Path(tmp) / "model.pt", net,
            architecture=fit.architecture, n_in=data.n_features, n_out=data.n_energies,
            config={**policy.to_dict(), "seed": seed, "device": str(policy.device)},
            extra={"x_scaler": data.x_scaler.to_dict(), "y_scaler": data.y_scaler.to_dict(),
                   "energy_grid": data.energy_grid.to_dict()},
        )
        if bundle is not None:
            write_bundle(Path(tmp), net.state_dict(), {
                **bundle, "architecture": fit.architecture.to_dict(), "n_in": data.n_features,
                "n_out": data.n_energies, "x_scaler": data.x_scaler.to_dict(), "y_scaler": data.y_scaler.to_dict(),
                "seed": seed, "training_policy": policy.to_dict(),
                "errors": {k: v for k, v in final.items() if k.startswith(("val_", "test_"))}})
        tune.report(final, checkpoint=tune.Checkpoint.from_directory(tmp))
