"""The search space as flat, named factors: the view that TPE, OAT and direct search share.

A network of the grid is described by ``n_layers`` plus ``width_i`` and ``activation_i``
for every hidden layer ``i = 1 .. max(n_layers)`` (layers beyond ``n_layers`` are ignored),
and a training policy by the names of ``search_space.training`` (``learning_rate``,
``batch_size``, ...). Grid methods (OAT, direct search) try each factor's ``levels``: the
categorical values, or the documented ``levels`` of a continuous parameter; TPE samples
continuous parameters from their distribution (:func:`tune_param_space`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..model import Architecture
from .space import SearchSpace, SearchSpaceError

ARCHITECTURE_PREFIXES = ("n_layers", "width_", "activation_")


@dataclass(frozen=True)
class Factor:
    """One searchable hyperparameter with the levels grid methods try."""

    name: str
    levels: tuple[Any, ...]
    is_architecture: bool

    @property
    def n_levels(self) -> int:
        return len(self.levels)


def architecture_factors(space: SearchSpace) -> list[Factor]:
    """``n_layers``, then ``width_i`` and ``activation_i`` for every possible hidden layer."""
    out = [Factor("n_layers", tuple(space.n_layers), True)]
    for i in range(1, max(space.n_layers) + 1):
        out.append(Factor(f"width_{i}", tuple(space.widths), True))
        out.append(Factor(f"activation_{i}", tuple(space.activations), True))
    return out


def training_factors(space: SearchSpace) -> list[Factor]:
    """One factor per ``search_space.training`` parameter, with its grid levels."""
    return [Factor(p.name, tuple(p.grid), False) for p in space.training]


def all_factors(space: SearchSpace, *, architecture: bool = True, training: bool = True,
                names: Sequence[str] | None = None) -> list[Factor]:
    """The factors of ``space`` (optionally only ``names``, in that order).

    Raises SearchSpaceError naming an unknown factor and listing the known ones.
    """
    pool = (architecture_factors(space) if architecture else []) + (training_factors(space) if training else [])
    if names is None:
        return pool
    by_name = {f.name: f for f in pool}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SearchSpaceError(f"unknown factor(s) {unknown}; the search space has {sorted(by_name)}")
    return [by_name[n] for n in names]


def is_architecture_key(name: str) -> bool:
    return name == "n_layers" or name.startswith(("width_", "activation_"))


def candidate_of(config: Mapping[str, Any], *, default: Architecture | None = None) -> Architecture:
    """The network a flat config describes; keys it lacks come from ``default``."""
    if "n_layers" not in config:
        if default is None:
            raise KeyError("config has no 'n_layers' and no default network was given")
        n = default.n_hidden
    else:
        n = int(config["n_layers"])
    widths, acts = [], []
    for i in range(1, n + 1):
        dw = default.widths[i - 1] if default is not None and i <= default.n_hidden else None
        da = default.activations[i - 1] if default is not None and i <= default.n_hidden else None
        w, a = config.get(f"width_{i}", dw), config.get(f"activation_{i}", da)
        if w is None or a is None:
            raise KeyError(f"config lacks width_{i}/activation_{i} for a {n}-layer network")
        widths.append(int(w))
        acts.append(str(a))
    return Architecture(widths, acts)


def training_of(config: Mapping[str, Any]) -> dict[str, Any]:
    """The training-policy keys of a flat config (everything that is not architecture)."""
    return {k: _plain(v) for k, v in config.items() if not is_architecture_key(k) and k != "seed"}


def flat_config(candidate: Architecture, training: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Inverse of :func:`candidate_of` / :func:`training_of`."""
    out: dict[str, Any] = {"n_layers": candidate.n_hidden}
    for i, (w, a) in enumerate(zip(candidate.widths, candidate.activations), start=1):
        out[f"width_{i}"], out[f"activation_{i}"] = w, a
    out.update(training or {})
    return out


def optuna_distributions(space: SearchSpace, *, architecture: bool = True, training: bool = True
                         ) -> dict[str, Any]:
    """Optuna distributions for TPE: categorical choices, continuous parameters as given."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    if architecture:
        for f in architecture_factors(space):
            out[f.name] = CategoricalDistribution(list(f.levels))
    if training:
        for p in space.training:
            if p.distribution == "categorical":
                out[p.name] = CategoricalDistribution(list(p.values))
            elif p.distribution in ("uniform", "loguniform"):
                out[p.name] = FloatDistribution(float(p.low), float(p.high), log=p.distribution == "loguniform")
            else:
                out[p.name] = IntDistribution(int(p.low), int(p.high))
    return out


def describe_config(config: Mapping[str, Any]) -> str:
    """Short text of a flat config: the network, then the training keys."""
    parts = []
    if "n_layers" in config:
        parts.append(candidate_of(config).describe())
    for k, v in training_of(config).items():
        parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
    return ", ".join(parts)


def _plain(v: Any) -> Any:
    """numpy scalars -> Python scalars (configs go to JSON and to TrainingConfig)."""
    return v.item() if hasattr(v, "item") else v


__all__ = [
    "Factor", "architecture_factors", "training_factors", "all_factors", "candidate_of", "training_of",
    "flat_config", "optuna_distributions", "describe_config", "is_architecture_key", "SearchSpaceError",
]
