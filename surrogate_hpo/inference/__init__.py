"""Using a trained surrogate: the model bundle, LDOS prediction on a grid, energies, ASE."""

from .bundle import (
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    BundleError,
    read_bundle,
    write_bundle,
)
from .calculator import SurrogateCalculator
from .model import SurrogateModel, load_model
from .prediction import (
    Prediction,
    StructureInput,
    describe_prediction,
    predict_structure,
    read_structure,
)

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "BundleError",
    "Prediction",
    "StructureInput",
    "SurrogateCalculator",
    "SurrogateModel",
    "describe_prediction",
    "load_model",
    "predict_structure",
    "read_bundle",
    "read_structure",
    "write_bundle",
]
