"""The search methods, one module each, registered by the name configs use (``method=<name>``)."""

from __future__ import annotations

from ..base import Method
from .acsd import Acsd
from .direct import Direct
from .naswot import Naswot
from .naswot_optimized import NaswotOptimized
from .oat import Oat
from .tpe import Tpe
from .tpe_naswot import TpeNaswot
from .workflow import Workflow

__all__ = ["METHODS"]

#: ``method.name`` -> method class; adding a method = a module here + ``conf/method/<name>.yaml``
METHODS: dict[str, type[Method]] = {cls.name: cls for cls in (Naswot, NaswotOptimized, Direct, Tpe, TpeNaswot, Oat,
                                                              Acsd, Workflow)}
