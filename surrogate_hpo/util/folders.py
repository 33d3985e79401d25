"""Whether an output folder can be made and written, asked before any work starts."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["why_not_writable"]


def why_not_writable(folder: str | Path) -> str | None:
    """Why ``folder`` cannot be made or written by this user (None when it can).

    Walks up to the nearest part of the path that exists: that must be a folder this user
    may write and enter.
    """
    existing = Path(folder).expanduser().absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"no permission to write in {existing}"
    return None
