"""The one way a command ends on a user's mistake: exit code 2 and one line, no traceback."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from omegaconf.errors import MissingMandatoryValue

__all__ = ["user_errors"]


@contextlib.contextmanager
def user_errors(prog: str, errors: tuple[type[BaseException], ...]) -> Iterator[None]:
    """Inside, a missing mandatory key or one of ``errors`` prints ``<prog>: ...`` and exits 2."""
    try:
        yield
    except MissingMandatoryValue as e:
        print(f"{prog}: config error: {e.full_key} is required (add {e.full_key}=... to the command)",
              file=sys.stderr)
        sys.exit(2)
    except errors as e:
        print(f"{prog}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)
