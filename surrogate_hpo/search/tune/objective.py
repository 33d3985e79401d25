"""What the searchers share: the identity of a configuration and a trial's objective value."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

ConfigKey = tuple[tuple[str, str], ...]


def config_key(config: Mapping[str, Any]) -> ConfigKey:
    """Identity of a flat config: the same network and policy give the same key.

    ``width_i``/``activation_i`` of layers beyond ``n_layers`` do not change the network and
    are left out, so e.g. direct search does not train a 2-layer net again for every
    width of a third layer.
    """
    n = config.get("n_layers")
    out = []
    for k, v in config.items():
        if n is not None and k.startswith(("width_", "activation_")) and int(k.rsplit("_", 1)[1]) > int(n):
            continue
        out.append((k, repr(v.item() if hasattr(v, "item") else v)))
    return tuple(sorted(out))


def objective(result: Mapping[str, Any] | None, metric: str, error: bool) -> float | None:
    """The finite objective of a finished trial, or None (failed, diverged, pruned)."""
    if error or not result or result.get("diverged"):
        return None
    try:
        v = float(result.get(metric))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None

__all__ = ["ConfigKey", "config_key", "objective"]
