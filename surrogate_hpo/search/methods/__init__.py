"""The search methods, one module each, registered by the name configs use (``method=<name>``).

``METHODS`` (``method.name`` -> class) imports every method on first use; a Ray worker that
runs one method's trial function imports only that method's module.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["METHODS"]

#: ``method.name`` -> (module, class); adding a method = a module here + ``conf/method/<name>.yaml``
_REGISTRY = {
    "naswot": ("naswot", "Naswot"),
    "naswot_optimized": ("naswot_optimized", "NaswotOptimized"),
    "direct": ("direct", "Direct"),
    "tpe": ("tpe", "Tpe"),
    "tpe_naswot": ("tpe_naswot", "TpeNaswot"),
    "oat": ("oat", "Oat"),
    "acsd": ("acsd", "Acsd"),
    "workflow": ("workflow", "Workflow"),
}


def __getattr__(name: str) -> Any:
    if name == "METHODS":
        return {key: getattr(importlib.import_module(f"{__name__}.{module}"), cls)
                for key, (module, cls) in _REGISTRY.items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
