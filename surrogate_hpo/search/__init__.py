"""Search methods (:mod:`.methods`) and their Ray Tune plug-ins (:mod:`.tune`).

:func:`make_method` turns the ``method`` and ``search_space`` config groups into a checked
:class:`~.base.Method`; every problem is a ConfigError naming the key.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .base import Method
from .space import SearchSpace, parse_search_space

__all__ = ["Method", "SearchSpace", "make_method", "method_names"]


def method_names() -> list[str]:
    from .methods import METHODS

    return sorted(METHODS)


def make_method(method: dict[str, Any], search_space: dict[str, Any]) -> Method:
    """The method ``method['name']`` with its typed config, on the parsed search space."""
    from .methods import METHODS

    name = method.get("name")
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; available: {', '.join(sorted(METHODS))} (method=<name>)")
    return METHODS[name].from_dict(method, parse_search_space(search_space))
