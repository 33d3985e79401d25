"""Ray Tune plug-ins, one module per search method.

A method module exposes ``run(ctx: StudyContext) -> MethodOutcome``; adding a method means
adding its module here and a file in ``conf/method/``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: method name (``method.name`` in conf/method/*.yaml) -> module in this package
METHODS: dict[str, str] = {
    "naswot": "naswot",
    "naswot_optimized": "naswot_optimized",
    "direct": "direct",
    "tpe": "tpe",
    "tpe_naswot": "tpe_naswot",
    "oat": "oat",
    "acsd": "acsd",
}


def get_method(name: str) -> ModuleType:
    """Module implementing method ``name``; ValueError naming the known methods otherwise."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; available: {', '.join(sorted(METHODS))} (method=<name>)")
    return importlib.import_module(f"{__name__}.{METHODS[name]}")


__all__ = ["METHODS", "get_method"]
