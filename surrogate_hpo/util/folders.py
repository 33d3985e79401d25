"""Output folders, asked before any work starts: can they be written, and do they hold links out?"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["links_inside", "why_not_writable"]


def why_not_writable(folder: str | Path) -> str | None:
    """Why ``folder`` cannot be made or written by this user (None when it can).

    Walks up to the nearest part of the path that exists: that must be a folder this user
    may write and enter, and a folder made there must appear (root passes permission checks
    on read-only or virtual file systems such as /proc).
    """
    existing = Path(folder).expanduser().absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"no permission to write in {existing}"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".write-probe-", dir=existing))
    except OSError as e:
        return f"cannot write in {existing} ({e.strerror or e})"
    return None


def links_inside(folder: str | Path, limit: int = 5) -> list[Path]:
    """Up to ``limit`` symbolic links below ``folder`` (links are not followed): a file written
    through one would land outside the folder. ``folder`` itself may be a link (the user's choice)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        found += [Path(root) / n for n in (*dirs, *files) if (Path(root) / n).is_symlink()]
        if len(found) >= limit:
            break
    return found[:limit]
