"""The search space shared by every method, read from ``conf/search_space/*.yaml``.

Two parts:

* ``architecture``: hidden-layer counts, and per hidden layer a width (neurons) and an
  activation. The NASWOT grid is every combination: for ``n`` layers, every sequence of
  ``n`` (width, activation) pairs.
* ``training``: training-policy parameters. Each is ``{distribution: categorical, values:
  [...]}`` or ``{distribution: uniform|loguniform|int, low, high, levels: [...]}``;
  ``levels`` is the documented list that grid methods (OAT, direct search) use.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ACTIVATIONS = ("sigmoid", "relu", "leakyrelu", "tanh", "linear")
DISTRIBUTIONS = ("categorical", "uniform", "loguniform", "int")


class SearchSpaceError(ValueError):
    """The search-space configuration is unusable; the message names the key."""


@dataclass(frozen=True)
class Candidate:
    """One architecture of the grid: hidden-layer widths and activations."""

    widths: tuple[int, ...]
    activations: tuple[str, ...]

    @property
    def n_layers(self) -> int:
        return len(self.widths)

    def describe(self) -> str:
        """Human-readable form, e.g. ``91-[128 tanh]-[64 relu]-70`` without the ends."""
        return " -> ".join(f"{w} {a}" for w, a in zip(self.widths, self.activations))

    def to_dict(self) -> dict[str, Any]:
        return {"widths": list(self.widths), "activations": list(self.activations)}

    def to_architecture(self) -> "Architecture":
        """The network shape as :class:`surrogate_hpo.model.Architecture` (builds, counts parameters)."""
        from ..model import Architecture

        return Architecture.from_dict(self.to_dict())


@dataclass(frozen=True)
class TrainingParameter:
    """One training-policy hyperparameter."""

    name: str
    distribution: str
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    levels: tuple[Any, ...] = ()

    @property
    def grid(self) -> tuple[Any, ...]:
        """Levels used by grid methods: the categorical values or the documented levels."""
        return self.values if self.distribution == "categorical" else self.levels


@dataclass(frozen=True)
class SearchSpace:
    """Architecture grid plus training-policy parameters."""

    n_layers: tuple[int, ...]
    widths: tuple[int, ...]
    activations: tuple[str, ...]
    training: tuple[TrainingParameter, ...] = field(default_factory=tuple)

    @property
    def n_candidates(self) -> int:
        per_layer = len(self.widths) * len(self.activations)
        return sum(per_layer**n for n in self.n_layers)

    def candidates(self) -> list[Candidate]:
        """Every architecture of the grid, in a fixed order (layers, then lexicographic)."""
        pairs = list(itertools.product(self.widths, self.activations))
        out: list[Candidate] = []
        for n in self.n_layers:
            for combo in itertools.product(pairs, repeat=n):
                out.append(Candidate(tuple(p[0] for p in combo), tuple(p[1] for p in combo)))
        return out

    def training_parameter(self, name: str) -> TrainingParameter:
        for p in self.training:
            if p.name == name:
                return p
        raise KeyError(name)


def _as_list(value: Any, key: str) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise SearchSpaceError(f"search_space.{key} must be a list, got {value!r}")
    items = list(value)
    if not items:
        raise SearchSpaceError(
            f"search_space.{key} is empty: give at least one value, "
            f"e.g. search_space.{key}=[...] on the command line"
        )
    return items


def _training_parameter(name: str, spec: Mapping[str, Any]) -> TrainingParameter:
    key = f"training.{name}"
    if not isinstance(spec, Mapping):
        raise SearchSpaceError(f"search_space.{key} must be a mapping with 'distribution'")
    dist = spec.get("distribution", "categorical")
    if dist not in DISTRIBUTIONS:
        raise SearchSpaceError(
            f"search_space.{key}.distribution={dist!r} is unknown; use one of {DISTRIBUTIONS}"
        )
    if dist == "categorical":
        values = tuple(_as_list(spec.get("values"), f"{key}.values"))
        return TrainingParameter(name, dist, values=values)
    low, high = spec.get("low"), spec.get("high")
    if low is None or high is None or not float(low) < float(high):
        raise SearchSpaceError(f"search_space.{key} needs low < high, got low={low}, high={high}")
    if dist == "loguniform" and float(low) <= 0:
        raise SearchSpaceError(f"search_space.{key}: loguniform needs low > 0, got {low}")
    levels = tuple(_as_list(spec.get("levels"), f"{key}.levels"))
    for lv in levels:
        if not float(low) <= float(lv) <= float(high):
            raise SearchSpaceError(f"search_space.{key}.levels: {lv} lies outside [{low}, {high}]")
    return TrainingParameter(name, dist, low=float(low), high=float(high), levels=levels)


def parse_search_space(cfg: Mapping[str, Any]) -> SearchSpace:
    """Build a :class:`SearchSpace` from a plain mapping (the Hydra ``search_space`` node)."""
    arch = cfg.get("architecture")
    if not isinstance(arch, Mapping):
        raise SearchSpaceError("search_space.architecture is missing (n_layers, width, activation)")
    n_layers = tuple(int(n) for n in _as_list(arch.get("n_layers"), "architecture.n_layers"))
    if any(n < 1 for n in n_layers):
        raise SearchSpaceError(f"search_space.architecture.n_layers must be >= 1, got {n_layers}")
    widths = tuple(int(w) for w in _as_list(arch.get("width"), "architecture.width"))
    if any(w < 1 for w in widths):
        raise SearchSpaceError(f"search_space.architecture.width must be >= 1, got {widths}")
    acts = tuple(str(a).lower() for a in _as_list(arch.get("activation"), "architecture.activation"))
    unknown = [a for a in acts if a not in ACTIVATIONS]
    if unknown:
        raise SearchSpaceError(
            f"search_space.architecture.activation: unknown {unknown}; choose from {ACTIVATIONS}"
        )
    training = tuple(
        _training_parameter(str(name), spec) for name, spec in (cfg.get("training") or {}).items()
    )
    return SearchSpace(n_layers, widths, acts, training)


def chunk_bounds(n_items: int, chunk_size: int) -> list[tuple[int, int]]:
    """Split ``range(n_items)`` into consecutive ``[start, stop)`` chunks of ``chunk_size``."""
    if chunk_size < 1:
        raise ValueError(f"chunk size must be >= 1, got {chunk_size}")
    n_chunks = math.ceil(n_items / chunk_size)
    return [(i * chunk_size, min((i + 1) * chunk_size, n_items)) for i in range(n_chunks)]
