"""Ray Tune plug-ins of the search methods: searchers and the NASWOT pruner (a scheduler).

Each is a thin adapter whose state comes from its constructor: a resumed study rebuilds
it from the trials table (:class:`~surrogate_hpo.study.resume.ReplaySearcher`, Optuna's
``add_trial``, the pruner's scores), never from a pickle.
"""

from .direct_searcher import DirectSearcher
from .naswot_pruner import NaswotThresholdScheduler
from .objective import ConfigKey, config_key, objective
from .optuna_searcher import OptunaTPESearcher
from .orthogonal_array_searcher import OrthogonalArraySearcher

__all__ = ["ConfigKey", "DirectSearcher", "NaswotThresholdScheduler", "OptunaTPESearcher", "OrthogonalArraySearcher",
           "config_key", "objective"]
