"""surrogate_hpo: training-free hyperparameter optimisation of LDOS surrogates on Ray Tune.

``load_model(path)`` and ``SurrogateCalculator(path)`` use a trained model bundle
(``<study>/model``); they load torch and LAMMPS on first use only.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["SurrogateCalculator", "__version__", "load_model"]


def __getattr__(name: str) -> Any:
    if name in ("load_model", "SurrogateCalculator"):
        from . import inference

        return getattr(inference, name)
    raise AttributeError(f"module 'surrogate_hpo' has no attribute {name!r}")
