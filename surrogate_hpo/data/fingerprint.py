"""Fingerprints of snapshot files: has the data under a study or a shard set changed?

Hashing whole snapshots (GBs each) would cost minutes, so a file's fingerprint is its size
and the SHA-256 of its first and last MiB and 32 evenly spaced 64 KiB blocks: any
regenerated array, another data set with the same names and shapes, or a truncated copy
changes it; a byte flipped between the sampled blocks does not (documented limit).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["file_fingerprint", "files_fingerprint"]

_EDGE = 1 << 20
_BLOCK = 1 << 16
_BLOCKS = 32


def file_fingerprint(path: str | os.PathLike) -> str:
    """Size plus sampled content of one file, as a hex digest; of a folder (openPMD's ADIOS2
    ``.bp``), the digest over its files' names and digests."""
    path = Path(path)
    if path.is_dir():
        return files_fingerprint((str(f.relative_to(path)), f) for f in sorted(path.rglob("*")) if f.is_file())
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        if size <= 2 * _EDGE + _BLOCKS * _BLOCK:
            h.update(fh.read())
        else:
            h.update(fh.read(_EDGE))
            step = (size - 2 * _EDGE) // (_BLOCKS + 1)
            for i in range(1, _BLOCKS + 1):
                fh.seek(_EDGE + i * step)
                h.update(fh.read(_BLOCK))
            fh.seek(size - _EDGE)
            h.update(fh.read(_EDGE))
    return h.hexdigest()


def files_fingerprint(named_files: Iterable[tuple[str, str | os.PathLike]]) -> str:
    """One digest over ``(label, file)`` pairs (order-independent; the labels count)."""
    h = hashlib.sha256()
    for label, path in sorted((str(a), str(b)) for a, b in named_files):
        h.update(label.encode() + b"\0" + file_fingerprint(path).encode() + b"\n")
    return h.hexdigest()
