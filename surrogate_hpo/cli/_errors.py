"""The one way a command ends on a user's mistake: exit code 2 and one line, no traceback."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from omegaconf.errors import MissingMandatoryValue

from ..util.folders import why_not_writable

__all__ = ["argv_value", "exit_config_error", "refuse_unwritable", "run_hydra", "user_errors"]


def exit_config_error(prog: str, message: str) -> None:
    """``<prog>: ConfigError: <message>`` on stderr, exit 2."""
    print(f"{prog}: ConfigError: {message}", file=sys.stderr)
    sys.exit(2)


def argv_value(argv: list[str], key: str, default: str) -> str:
    """The value of the last ``key=`` override in ``argv`` (``+key=`` too), else ``default``."""
    value = default
    for arg in argv:
        k, eq, v = arg.lstrip("+~").partition("=")
        if k == key and eq:
            value = v
    return value


def refuse_unwritable(prog: str, key: str, folder: str) -> None:
    """Exit 2 when ``folder`` (the value of ``key``) cannot be made or written: Hydra makes
    its run folder there before the command's own checks run."""
    problem = why_not_writable(folder)
    if problem:
        exit_config_error(prog, f"{key}={folder}: {problem}; choose a folder you can write")


def run_hydra(task: Callable[[], object]) -> None:
    """Run a ``@hydra.main`` task; a config Hydra cannot compose (exit 1) exits 2."""
    try:
        task()
    except SystemExit as e:
        if e.code == 1:
            sys.exit(2)
        raise


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
