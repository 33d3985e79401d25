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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..model import Architecture, TrainingConfig

ACTIVATIONS = ("sigmoid", "relu", "leakyrelu", "tanh", "linear")
DISTRIBUTIONS = ("categorical", "uniform", "loguniform", "int")


class SearchSpaceError(ConfigError):
    """The search-space configuration is unusable; the message names the key."""


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

    def candidates(self) -> list[Architecture]:
        """Every architecture of the grid, in a fixed order (layers, then lexicographic)."""
        pairs = list(itertools.product(self.widths, self.activations))
        return [Architecture([p[0] for p in combo], [p[1] for p in combo])
                for n in self.n_layers for combo in itertools.product(pairs, repeat=n)]

    def candidate(self, index: int) -> Architecture:
        """Architecture ``index`` of the grid order (the order of :meth:`candidates`)."""
        if not 0 <= index < self.n_candidates:
            raise IndexError(f"candidate {index} of a grid of {self.n_candidates}")
        pairs = len(self.widths) * len(self.activations)
        for n in self.n_layers:
            block = pairs**n
            if index < block:
                digits = []
                for _ in range(n):
                    index, d = divmod(index, pairs)
                    digits.append(d)
                digits.reverse()  # itertools.product order: the first layer varies slowest
                widths = [self.widths[d // len(self.activations)] for d in digits]
                acts = [self.activations[d % len(self.activations)] for d in digits]
                return Architecture(widths, acts)
            index -= block
        raise AssertionError("unreachable")

    def index_of(self, architecture: Architecture) -> int:
        """Position of ``architecture`` in the grid order (ValueError if it is not in the grid)."""
        acts = list(self.activations)
        pairs = len(self.widths) * len(acts)
        offset = 0
        for n in self.n_layers:
            if n == architecture.n_hidden:
                index = 0
                for w, a in zip(architecture.widths, architecture.activations):
                    if w not in self.widths or a not in acts:
                        raise ValueError(f"{architecture.describe()} is not in the search space's grid")
                    index = index * pairs + self.widths.index(w) * len(acts) + acts.index(a)
                return offset + index
            offset += pairs**n
        raise ValueError(f"{architecture.describe()} has {architecture.n_hidden} layers; the grid has {self.n_layers}")

    def iter_candidates(self, start: int = 0, stop: int | None = None) -> Iterator[Architecture]:
        """Architectures ``start .. stop-1`` of the grid order, made one at a time."""
        for i in range(start, self.n_candidates if stop is None else min(stop, self.n_candidates)):
            yield self.candidate(i)

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


_TRAINING_KEYS = sorted(f for f in TrainingConfig.__dataclass_fields__ if f not in ("seed", "device",
                                                                                   "val_chunk_size"))
_SPEC_KEYS = {"distribution", "values", "low", "high", "levels"}


def _check_policy_values(name: str, values: Sequence[Any]) -> None:
    """Every value must make a valid training policy (the trainer's own checks)."""
    for v in values:
        try:
            TrainingConfig(**{name: v})
        except (TypeError, ValueError) as e:
            raise SearchSpaceError(f"search_space.training.{name}: value {v!r} cannot be used ({e})") from None


def _ints(value: Any, key: str) -> tuple[int, ...]:
    items = _as_list(value, key)
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v for v in items):
        raise SearchSpaceError(f"search_space.{key} must be a list of integers, got {items}")
    return tuple(int(v) for v in items)


def _training_parameter(name: str, spec: Mapping[str, Any]) -> TrainingParameter:
    key = f"training.{name}"
    if name not in _TRAINING_KEYS:
        import difflib

        near = difflib.get_close_matches(name, _TRAINING_KEYS, n=1)
        raise SearchSpaceError(f"search_space.{key}: unknown training parameter"
                               f"{f' (did you mean {near[0]}?)' if near else ''}; searchable: "
                               f"{', '.join(_TRAINING_KEYS)}")
    if not isinstance(spec, Mapping):
        raise SearchSpaceError(f"search_space.{key} must be a mapping with 'distribution'")
    extra = sorted(set(spec) - _SPEC_KEYS)
    if extra:
        raise SearchSpaceError(f"search_space.{key}.{extra[0]}: unknown key; a parameter takes "
                               f"{', '.join(sorted(_SPEC_KEYS))}")
    dist = spec.get("distribution", "categorical")
    if dist not in DISTRIBUTIONS:
        raise SearchSpaceError(
            f"search_space.{key}.distribution={dist!r} is unknown; use one of {DISTRIBUTIONS}"
        )
    if dist == "categorical":
        values = tuple(_as_list(spec.get("values"), f"{key}.values"))
        _check_policy_values(name, values)
        return TrainingParameter(name, dist, values=values)
    low, high = spec.get("low"), spec.get("high")
    if low is None or high is None or not float(low) < float(high):
        raise SearchSpaceError(f"search_space.{key} needs low < high, got low={low}, high={high}")
    if dist == "loguniform" and float(low) <= 0:
        raise SearchSpaceError(f"search_space.{key}: loguniform needs low > 0, got {low}")
    levels = tuple(_as_list(spec.get("levels"), f"{key}.levels"))
    _check_policy_values(name, [float(low), float(high), *levels])
    for lv in levels:
        if not float(low) <= float(lv) <= float(high):
            raise SearchSpaceError(f"search_space.{key}.levels: {lv} lies outside [{low}, {high}]")
    return TrainingParameter(name, dist, low=float(low), high=float(high), levels=levels)


def parse_search_space(cfg: Mapping[str, Any]) -> SearchSpace:
    """Build a :class:`SearchSpace` from a plain mapping (the Hydra ``search_space`` node)."""
    extra = sorted(set(cfg) - {"architecture", "training"})
    if extra:
        raise SearchSpaceError(f"search_space.{extra[0]}: unknown key; the search space has architecture and training")
    arch = cfg.get("architecture")
    if not isinstance(arch, Mapping):
        raise SearchSpaceError("search_space.architecture is missing (n_layers, width, activation)")
    extra = sorted(set(arch) - {"n_layers", "width", "activation"})
    if extra:
        raise SearchSpaceError(f"search_space.architecture.{extra[0]}: unknown key; the architecture has "
                               "n_layers, width, activation")
    n_layers = _ints(arch.get("n_layers"), "architecture.n_layers")
    if any(n < 1 for n in n_layers):
        raise SearchSpaceError(f"search_space.architecture.n_layers must be >= 1, got {n_layers}")
    widths = _ints(arch.get("width"), "architecture.width")
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
