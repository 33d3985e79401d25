"""Trial function that trains one network and reports validation and test energy errors.

Used by the final evaluation (one trial per seed) and by methods that train candidates.
Reports once per epoch (``val_loss``, ``val_band_energy_mae_mev_per_atom``) and once at the
end with the test errors and a checkpoint (weights + scalers + architecture + config).
"""

from __future__ import annotations

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

from ..study.energy_metrics import EnergyEvaluator
from ..study.prepared_data import PreparedData


def predict_ldos(network: Any, data: PreparedData, snapshot: Any, *, device: Any = "cpu",
                 chunk_rows: int = 65536) -> np.ndarray:
    """Predicted LDOS of ``snapshot`` in 1/(eV·Å³), ``(n_points, nE)``."""
    import torch

    x = data.scaled_inputs(snapshot)
    out = np.empty((x.shape[0], data.n_energies), dtype=np.float32)
    network.eval()
    with torch.no_grad():
        for a in range(0, x.shape[0], chunk_rows):
            xb = torch.as_tensor(x[a:a + chunk_rows], device=device)
            out[a:a + chunk_rows] = network(xb).float().cpu().numpy()
    return np.asarray(data.y_scaler.inverse_transform(out), dtype=np.float32)


@dataclass
class TrainedNetwork:
    """One finished training: the network, what training returned, the validation error."""

    network: Any
    architecture: Any
    result: Any
    device: Any
    seconds: float
    val_band_energy_mae: float  # meV/atom; inf when training diverged


def train_network(architecture: dict[str, Any], policy: dict[str, Any], data: PreparedData, *, seed: int,
                  threads: int = 1, on_epoch_end: Callable[[Any, int, dict[str, Any]], None] | None = None
                  ) -> TrainedNetwork:
    """Build the network of ``architecture`` and train it with ``policy`` (TrainingConfig keys)
    on ``data``; ``on_epoch_end(network, epoch, metrics)`` sees each epoch."""
    import torch

    from ..model import Architecture, TrainingConfig, resolve_device, train

    torch.set_num_threads(max(1, threads))
    # arrays from Ray's object store are read-only; training only reads them
    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    device = resolve_device(str(policy.get("device", "auto")))
    torch.manual_seed(seed)
    arch = Architecture.from_dict(architecture)
    net = arch.build(data.n_features, data.n_energies).to(device)
    tc = TrainingConfig(**{k: v for k, v in policy.items()
                           if k in TrainingConfig.__dataclass_fields__ and k not in ("seed", "device")},
                        seed=seed, device=device)
    callback = None if on_epoch_end is None else (lambda epoch, metrics: on_epoch_end(net, epoch, metrics))
    t0 = time.perf_counter()
    if data.train_stream is not None:  # rows from Parquet shards through Ray Data
        batches = data.train_stream.batches(batch_size=tc.batch_size, seed=seed, device=device,
                                            x_scaler=data.x_scaler, y_scaler=data.y_scaler)
        result = train(net, None, None, data.val_x, data.val_y, tc, on_epoch_end=callback, train_batches=batches)
    else:
        result = train(net, data.train_x, data.train_y, data.val_x, data.val_y, tc, on_epoch_end=callback)
    seconds = time.perf_counter() - t0
    val = math.inf
    if not result.diverged:
        val = validation_band_energy_mae(net, data, device)
    return TrainedNetwork(net, arch, result, device, seconds, val)


def validation_band_energy_mae(network: Any, data: PreparedData, device: Any = "cpu") -> float:
    """MAE of the band energy over the validation snapshots, meV/atom."""
    errs = EnergyEvaluator(data.validation).errors(lambda s: predict_ldos(network, data, s, device=device))
    return float(errs["band_energy_mae_mev_per_atom"])


def train_and_evaluate(config: dict[str, Any], *, architecture: dict[str, Any], training: dict[str, Any],
                       data: PreparedData, evaluate_test: bool = True, threads: int = 1) -> None:
    """Tune trial: build the network of ``architecture``, train it, report energy errors.

    ``config`` may hold ``seed`` and any training-policy keys (they override ``training``).
    A diverged run (NaN/inf loss) is reported with ``diverged=True`` and infinite errors.
    """
    from ..model import save_checkpoint
    from ..study.resources import trial_gpu_ids

    policy = {**training, **{k: v for k, v in config.items() if k != "seed"}}
    seed = int(config.get("seed", policy.get("seed", 0)))

    def on_epoch_end(net: Any, epoch: int, metrics: dict[str, Any]) -> None:
        if math.isfinite(float(metrics.get("val_loss", math.nan))):
            device = next(net.parameters()).device
            metrics["val_band_energy_mae_mev_per_atom"] = validation_band_energy_mae(net, data, device)
        tune.report({k: v for k, v in metrics.items() if isinstance(v, (int, float, str, bool))})

    started_at = time.time()
    fit = train_network(architecture, policy, data, seed=seed, threads=threads, on_epoch_end=on_epoch_end)
    net, device, result = fit.network, fit.device, fit.result
    final: dict[str, Any] = {
        "seed": seed,
        "diverged": bool(result.diverged),
        "best_val_loss": float(result.best_val_loss),
        "epochs": int(result.epochs_run),
        "train_seconds": fit.seconds,
        "train_rows_per_epoch": int(result.history[-1]["rows"]) if result.history else 0,
        "streamed": data.train_stream is not None,
        "device": str(device),
        "gpu_ids": ",".join(trial_gpu_ids()),
        "started_at": started_at,  # unix seconds of the training's start and end
        "finished_at": time.time(),
    }
    if result.diverged:
        final.update({"val_band_energy_mae_mev_per_atom": math.inf, "test_band_energy_mae_mev_per_atom": math.inf})
        tune.report(final)
        return
    final["val_band_energy_mae_mev_per_atom"] = fit.val_band_energy_mae
    if evaluate_test:
        test = EnergyEvaluator(data.test, total_energy=True).errors(
            lambda s: predict_ldos(net, data, s, device=device))
        final.update({f"test_{k}": v for k, v in test.items()})
    with tempfile.TemporaryDirectory() as tmp:
        save_checkpoint(
            Path(tmp) / "model.pt", net,
            architecture=fit.architecture, n_in=data.n_features, n_out=data.n_energies,
            config={**policy, "seed": seed},
            extra={"x_scaler": data.x_scaler.to_dict(), "y_scaler": data.y_scaler.to_dict(),
                   "energy_grid": data.test[0].energy_grid.to_dict() if data.test else None},
        )
        tune.report(final, checkpoint=tune.Checkpoint.from_directory(tmp))
