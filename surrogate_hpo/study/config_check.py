"""Checks of a study's configuration that run before any data is read or Ray starts."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from ..search import get_method
from ..search.space import SearchSpace, SearchSpaceError, parse_search_space
from .errors import ConfigError
from .resources import check_cluster_config


def check_config(cfg: dict[str, Any]) -> tuple[ModuleType, SearchSpace]:
    """Validate ``cfg`` (plain dict); return the method module and the parsed search space.

    Raises ConfigError naming the key to change: unknown method, empty/invalid search
    space, impossible cluster resources (e.g. a GPU on a machine without one), a missing
    data path, a non-positive number of final-evaluation seeds.
    """
    for group in ("data", "method", "search_space", "training", "cluster"):
        if not isinstance(cfg.get(group), dict):
            raise ConfigError(f"config group '{group}' is missing; choose one, e.g. {group}=<name>")
    try:
        method = get_method(str(cfg["method"].get("name")))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    try:
        space = parse_search_space(cfg["search_space"])
    except SearchSpaceError as e:
        raise ConfigError(str(e)) from None
    if hasattr(method, "check_method_config"):
        try:
            method.check_method_config(cfg["method"], space)
        except (ValueError, KeyError) as e:
            raise ConfigError(f"method={cfg['method'].get('name')}: {e}") from None
    check_cluster_config(cfg["cluster"])
    data = cfg["data"]
    from .train_stream import streaming_setting

    streaming_setting(data)
    if data.get("shards") and not Path(str(data["shards"])).expanduser().is_dir():
        raise ConfigError(f"data.shards={data['shards']} is not a folder; write shards with "
                          "surrogate-hpo-shards source=<data.path> output=<folder>")
    if data.get("kind") != "sample":
        from .prepared_data import resolve_data_path

        resolve_data_path(data)
    seeds = int(cfg.get("final_evaluation", {}).get("seeds", 5))
    if seeds < 1:
        raise ConfigError(f"final_evaluation.seeds must be >= 1, got {seeds}")
    return method, space
