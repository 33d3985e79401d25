"""The one way a command ends on a user's mistake: exit code 2 and one line, no traceback."""

from __future__ import annotations

import contextlib
import difflib
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from omegaconf.errors import MissingMandatoryValue

from ..util.folders import why_not_writable

__all__ = ["argv_value", "exit_config_error", "refuse_unknown_keys", "refuse_unwritable", "run_hydra", "user_errors"]


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


_ABSENT = object()


def refuse_unknown_keys(prog: str, conf_dir: Path, argv: list[str]) -> None:
    """Exit 2 naming the nearest known key when an override sets a key the config lacks
    (Hydra would suggest appending it with ``+``, which only defers the error). Multirun
    sweeps and ``hydra.*`` overrides are left to Hydra."""
    if any(a in ("-m", "--multirun") or a.startswith(("-c", "--cfg", "--help", "-h", "--info")) for a in argv):
        return
    overrides = [a for a in argv if "=" in a and not a.startswith(("-", "hydra.", "+hydra.", "~hydra."))]
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import DictConfig, OmegaConf

    top = {str(k) for k in OmegaConf.load(conf_dir / "config.yaml")} | {p.name for p in conf_dir.iterdir() if p.is_dir()}
    if all(a.startswith(("+", "~")) or a.partition("=")[0] in top for a in overrides):
        return  # group choices, top-level keys and appended keys: nothing Hydra refuses as "Could not override"

    def composed(args: list[str]) -> DictConfig:
        with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
            return compose("config", overrides=args)

    try:
        composed(overrides)
        return
    except HydraException as e:
        m = re.match(r"Could not override '([^']+)'", str(e))
        if not m:
            return  # Hydra says what else is wrong
        key = m.group(1)
    try:
        cfg = composed([a for a in overrides if a.partition("=")[0] != key])
    except HydraException:
        return
    parts = key.split(".")
    depth = next((i for i in range(len(parts)) if OmegaConf.select(cfg, ".".join(parts[:i + 1]),
                                                                  default=_ABSENT) is _ABSENT), len(parts) - 1)
    key, parent, last = ".".join(parts[:depth + 1]), ".".join(parts[:depth]), parts[depth]
    node = OmegaConf.select(cfg, parent) if parent else cfg
    known = [str(k) for k in node.keys()] if isinstance(node, DictConfig) else []
    near = difflib.get_close_matches(last, known, n=1)
    hint = f" (did you mean {parent + '.' if parent else ''}{near[0]}?)" if near else ""
    where = parent or "the config"
    takes = f"; {where} takes {', '.join(sorted(known))}" if known else f"; {where} is not a group of keys"
    exit_config_error(prog, f"{key}: unknown key{hint}{takes}")


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
