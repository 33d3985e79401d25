"""Search methods (:mod:`.methods`) and their Ray Tune plug-ins (:mod:`.tune`).

:func:`make_method` turns the ``method`` and ``search_space`` config groups into a checked
:class:`~.base.Method`; every problem is a ConfigError naming the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from .base import Method
from .space import SearchSpace, parse_search_space

__all__ = ["Method", "SearchSpace", "make_method", "method_names"]


def method_names() -> list[str]:
    from .methods import METHODS

    return sorted(METHODS)


def make_method(method: dict[str, Any], search_space: dict[str, Any],
                log: Callable[[str], None] = print) -> Method:
    """The method ``method['name']`` with its typed config, on the parsed search space.

    A key that another method takes (``method.n_trials`` in a multirun over naswot and
    tpe) is left out with a note; a key no method takes is a ConfigError.
    """
    from .methods import METHODS

    name = method.get("name")
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; available: {', '.join(sorted(METHODS))} (method=<name>)")
    own = {f.name for f in dataclasses.fields(METHODS[name].config_type)}
    other = {f.name for cls in METHODS.values() for f in dataclasses.fields(cls.config_type)} - own
    ignored = sorted(k for k in method if k in other)
    if ignored:
        log(f"[config] method={name} does not use {', '.join(f'method.{k}' for k in ignored)} (other methods' keys)")
    return METHODS[name].from_dict({k: v for k, v in method.items() if k not in ignored},
                                   parse_search_space(search_space))
