"""Save / load a trained MLP with everything needed to rebuild and use it.

Bundle (``torch.save`` of a plain dict, loadable with ``weights_only=True``)::

    {"format": "surrogate_hpo.checkpoint/1", "state_dict": ..., "architecture":
     {"widths": [...], "activations": [...]}, "n_in": F, "n_out": nE,
     "config": {...training config...}, "extra": {...e.g. scalers as dicts...}}

numpy arrays / scalars inside ``config`` and ``extra`` are stored as lists / Python
numbers so the file needs no pickled classes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from surrogate_hpo.model.network import ACTIVATIONS, Architecture

__all__ = ["CHECKPOINT_FORMAT", "Checkpoint", "architecture_of", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = "surrogate_hpo.checkpoint/1"
_ACT_TYPES = {cls: name for name, cls in ACTIVATIONS.items()}


@dataclass
class Checkpoint:
    """A loaded checkpoint: the rebuilt network (eval mode) and its metadata."""

    network: nn.Sequential
    architecture: Architecture
    n_in: int
    n_out: int
    config: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def architecture_of(network: nn.Module) -> tuple[Architecture, int, int]:
    """Recover ``(Architecture, n_in, n_out)`` from a network made by ``build_mlp``."""
    if not isinstance(network, nn.Sequential):
        raise ValueError("architecture_of needs an nn.Sequential built by build_mlp")
    linears = [m for m in network if isinstance(m, nn.Linear)]
    acts: list[str] = []
    for i, m in enumerate(network):
        if isinstance(m, nn.Linear):
            nxt = network[i + 1] if i + 1 < len(network) else None
            if nxt is not None and not isinstance(nxt, nn.Linear):
                if type(nxt) not in _ACT_TYPES:
                    raise ValueError(f"unsupported layer {type(nxt).__name__}")
                acts.append(_ACT_TYPES[type(nxt)])
            elif nxt is not None:
                acts.append("linear")
    if len(linears) < 2:
        raise ValueError("network needs at least one hidden layer")
    widths = [m.out_features for m in linears[:-1]]
    return Architecture(widths=widths, activations=acts), linears[0].in_features, linears[-1].out_features


def _plain(obj: Any) -> Any:
    """numpy -> lists/Python numbers, recursively (tensors and primitives unchanged)."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def save_checkpoint(
    path: str | os.PathLike,
    network: nn.Module,
    *,
    architecture: Architecture | None = None,
    n_in: int | None = None,
    n_out: int | None = None,
    config: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the bundle atomically (temp file + rename); returns the path.

    ``architecture``/``n_in``/``n_out`` are inferred from a ``build_mlp`` network when
    not given.
    """
    if architecture is None or n_in is None or n_out is None:
        a, i, o = architecture_of(network)
        architecture = architecture or a
        n_in = i if n_in is None else n_in
        n_out = o if n_out is None else n_out
    bundle = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.detach().cpu().clone() for k, v in network.state_dict().items()},
        "architecture": architecture.to_dict(),
        "n_in": int(n_in),
        "n_out": int(n_out),
        "config": _plain(dict(config or {})),
        "extra": _plain(dict(extra or {})),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(bundle, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike, *, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load a bundle written by :func:`save_checkpoint` and rebuild the network."""
    bundle = torch.load(Path(path), map_location=map_location, weights_only=True)
    if not isinstance(bundle, dict) or bundle.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a surrogate_hpo checkpoint (format {CHECKPOINT_FORMAT})")
    arch = Architecture.from_dict(bundle["architecture"])
    net = arch.build(bundle["n_in"], bundle["n_out"])
    net.load_state_dict(bundle["state_dict"])
    net.to(map_location)
    net.eval()
    return Checkpoint(network=net, architecture=arch, n_in=bundle["n_in"], n_out=bundle["n_out"],
                      config=bundle.get("config", {}), extra=bundle.get("extra", {}))
