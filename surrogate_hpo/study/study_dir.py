"""Where a study writes, and how ``resume=`` finds the study to continue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError

MARKER = "study.json"


def resolve_study_dir(cfg: dict[str, Any], run_dir: Path) -> tuple[Path, bool]:
    """``(study_dir, resuming)``.

    ``resume=false``: the fresh Hydra run directory. ``resume=true``: the newest earlier
    study of the same name under ``output_root/study_name``. ``resume=<dir>``: that study.
    """
    resume = cfg.get("resume", False)
    if resume in (False, None, "false", "False"):
        return run_dir, False
    if resume in (True, "true", "True"):
        parent = Path(str(cfg.get("output_root", "outputs"))) / str(cfg["study_name"])
        earlier = sorted(p for p in parent.glob("*") if (p / MARKER).exists() and p.resolve() != run_dir.resolve())
        if not earlier:
            raise ConfigError(f"resume=true but no earlier study named {cfg['study_name']!r} under {parent}; "
                              "run without resume, or give resume=<study directory>")
        return earlier[-1], True
    path = Path(str(resume)).expanduser()
    if not (path / MARKER).exists():
        raise ConfigError(f"resume={path}: not a study directory (no {MARKER} there)")
    return path, True
