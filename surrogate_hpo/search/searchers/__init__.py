"""Ray Tune plug-ins (searchers and schedulers) used by the search methods.

Each is a thin adapter with its state saved and restored explicitly, so a study resumed
with ``resume=true`` continues where it stopped.
"""

from .direct import DirectSearcher
from .naswot_threshold import NaswotThresholdScheduler
from .optuna_final import FinalValueOptunaSearch
from .orthogonal_array import OrthogonalArraySearcher
from .state import config_key

__all__ = ["DirectSearcher", "NaswotThresholdScheduler", "FinalValueOptunaSearch", "OrthogonalArraySearcher",
           "config_key"]
