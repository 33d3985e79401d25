"""Feed-forward networks (MLPs) built from hyperparameters.

A network maps F descriptor values at one grid point to nE LDOS values at that point.
Hidden layers are ``Linear -> activation``; the output layer is linear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import nn

__all__ = ["ACTIVATIONS", "Architecture", "build_mlp", "make_activation", "normalize_activations"]

#: Activation names accepted by :func:`build_mlp` (case-insensitive).
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "relu": nn.ReLU,
    "leakyrelu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "linear": nn.Identity,
}

_ALIASES = {"leaky_relu": "leakyrelu", "leaky-relu": "leakyrelu", "identity": "linear", "none": "linear"}


def _canonical(name: str) -> str:
    if not isinstance(name, str):
        raise ValueError(f"activation must be a string, got {name!r}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}"
        )
    return key


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module for ``name`` (see :data:`ACTIVATIONS`)."""
    return ACTIVATIONS[_canonical(name)]()


def normalize_activations(activations: Sequence[str] | str, n_hidden: int) -> list[str]:
    """Expand ``activations`` to one canonical name per hidden layer.

    A single string (or a one-element list) applies to every hidden layer; otherwise the
    list must have exactly ``n_hidden`` entries.
    """
    if isinstance(activations, str):
        names = [activations] * n_hidden
    else:
        names = list(activations)
        if len(names) == 1:
            names = names * n_hidden
        if len(names) != n_hidden:
            raise ValueError(
                f"got {len(names)} activations for {n_hidden} hidden layers; "
                "give one per hidden layer or a single one for all"
            )
    return [_canonical(n) for n in names]


def _check_widths(widths: Sequence[int]) -> list[int]:
    widths = [int(w) for w in widths]
    if not widths:
        raise ValueError("widths is empty: give at least one hidden layer width")
    bad = [w for w in widths if w < 1]
    if bad:
        raise ValueError(f"hidden layer widths must be positive, got {widths}")
    return widths


def build_mlp(
    n_inputs: int,
    n_outputs: int,
    *,
    widths: Sequence[int],
    activations: Sequence[str] | str,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> nn.Sequential:
    """Build ``Linear(n_inputs, w0) -> act0 -> ... -> Linear(w_last, n_outputs)``.

    Args:
        n_inputs: descriptor count F.
        n_outputs: LDOS energy count nE.
        widths: hidden layer widths (at least one).
        activations: one name per hidden layer, or a single name for all. Names:
            sigmoid, relu, leakyrelu, tanh, linear. The output layer is always linear.
        dtype, device: forwarded to the ``nn.Linear`` layers (PyTorch default init).

    Raises:
        ValueError: empty/non-positive widths, unknown activation, wrong count.
    """
    if int(n_inputs) < 1 or int(n_outputs) < 1:
        raise ValueError(f"n_inputs and n_outputs must be positive, got {n_inputs}, {n_outputs}")
    widths = _check_widths(widths)
    names = normalize_activations(activations, len(widths))
    layers: list[nn.Module] = []
    prev = int(n_inputs)
    for w, name in zip(widths, names):
        layers.append(nn.Linear(prev, w, dtype=dtype, device=device))
        layers.append(make_activation(name))
        prev = w
    layers.append(nn.Linear(prev, int(n_outputs), dtype=dtype, device=device))
    return nn.Sequential(*layers)


@dataclass
class Architecture:
    """Hidden-layer shape of an MLP: widths and one activation per hidden layer.

    ``activations`` may be given as a single string; it is expanded on construction.
    """

    widths: list[int]
    activations: list[str] = field(default_factory=lambda: ["relu"])

    def __post_init__(self) -> None:
        self.widths = _check_widths(self.widths)
        self.activations = normalize_activations(self.activations, len(self.widths))

    @property
    def n_hidden(self) -> int:
        """Hidden layers."""
        return len(self.widths)

    n_layers = n_hidden  # the search space's name for it

    def __hash__(self) -> int:
        return hash((tuple(self.widths), tuple(self.activations)))

    def build(self, n_inputs: int, n_outputs: int, **kwargs) -> nn.Sequential:
        """Build the network (see :func:`build_mlp`)."""
        return build_mlp(n_inputs, n_outputs, widths=self.widths, activations=self.activations, **kwargs)

    def n_parameters(self, n_inputs: int, n_outputs: int) -> int:
        """Number of trainable parameters (weights and biases) for the given I/O sizes."""
        sizes = [int(n_inputs), *self.widths, int(n_outputs)]
        return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))

    def describe(self) -> str:
        """Short human-readable description, e.g. ``'128 relu -> 64 tanh'``."""
        return " -> ".join(f"{w} {a}" for w, a in zip(self.widths, self.activations))

    def to_dict(self) -> dict:
        return {"widths": list(self.widths), "activations": list(self.activations)}

    @classmethod
    def from_dict(cls, d: dict) -> "Architecture":
        return cls(widths=list(d["widths"]), activations=d["activations"])
