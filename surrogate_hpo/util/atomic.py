"""Files that appear whole or not at all: write to a hidden temporary name, then rename.

The one atomic-write helper of the package; a study killed mid-write leaves the previous
version of a file, never a truncated one.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .json_safe import json_safe

__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text", "read_json", "replace_dir", "temporary_path", "write_json"]

_counter = itertools.count()


def temporary_path(path: Path) -> Path:
    """A hidden sibling of ``path`` unique to this process and call."""
    return path.with_name(f".{path.name}.part-{os.getpid()}-{next(_counter)}")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """A binary file handle whose content becomes ``path`` when the block ends without error
    (parent folders are created); on an error the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    tmp.unlink(missing_ok=True)  # a run killed mid-write under a reused pid left it (unlink never follows a link)
    try:
        with open(tmp, "xb") as fh:  # exclusive: a link planted at the name since is not followed
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (parent folders are created)."""
    with atomic_open(path) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode())


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as strict JSON (NaN/inf become ``null``) atomically."""
    return atomic_write_text(path, json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """The JSON value in ``path``."""
    return json.loads(Path(path).read_text())


def replace_dir(tmp: Path, final: Path) -> Path:
    """Move the finished folder ``tmp`` to ``final``, replacing an older one."""
    if final.exists():
        old = temporary_path(final)
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    return final
