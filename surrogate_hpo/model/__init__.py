"""Neural networks from hyperparameters: MLP builder, training loop, checkpoints."""

from surrogate_hpo.model.checkpoint import (
    Checkpoint,
    architecture_of,
    load_checkpoint,
    save_checkpoint,
)
from surrogate_hpo.model.network import ACTIVATIONS, Architecture, build_mlp
from surrogate_hpo.model.training import (
    EpochCallback,
    TrainingConfig,
    TrainingResult,
    evaluate_loss,
    resolve_device,
    train,
)

__all__ = [
    "ACTIVATIONS",
    "Architecture",
    "Checkpoint",
    "EpochCallback",
    "TrainingConfig",
    "TrainingResult",
    "architecture_of",
    "build_mlp",
    "evaluate_loss",
    "load_checkpoint",
    "resolve_device",
    "save_checkpoint",
    "train",
]
