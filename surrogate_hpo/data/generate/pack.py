"""Compact storage of LDOS arrays for the bundled sample data.

float32 values are rounded to ``keep_bits`` mantissa bits (12 by default: relative error
≤ 2^-13 ≈ 1.2e-4), byte-shuffled (all first bytes, then all second bytes, ...) and
compressed with LZMA.  That is about 6x smaller than ``np.save`` for a smooth LDOS.
The container is a plain ``.npz`` (no pickle) with the keys below.
"""

from __future__ import annotations

import lzma
from pathlib import Path

import numpy as np

__all__ = ["LAYOUT", "round_mantissa", "pack_array", "unpack_array", "save_packed", "load_packed"]

LAYOUT = "float32-round-mantissa-byteshuffle-lzma-v1"


def round_mantissa(a: np.ndarray, keep_bits: int) -> np.ndarray:
    """float32 copy of ``a`` rounded to nearest with ``keep_bits`` of the 23 mantissa bits."""
    if not 1 <= keep_bits <= 23:
        raise ValueError(f"keep_bits must be in [1, 23], got {keep_bits}")
    x = np.ascontiguousarray(a, dtype=np.float32).copy()
    if keep_bits == 23:
        return x
    drop = 23 - keep_bits
    u = x.view(np.uint32)
    u += np.uint32(1 << (drop - 1))
    u &= np.uint32((0xFFFFFFFF << drop) & 0xFFFFFFFF)
    return x


def pack_array(a: np.ndarray, keep_bits: int = 12) -> dict[str, np.ndarray]:
    x = round_mantissa(a, keep_bits)
    shuffled = x.view(np.uint8).reshape(-1, 4).T.copy()
    blob = lzma.compress(shuffled.tobytes(), preset=6)
    return {
        "layout": np.array(LAYOUT),
        "shape": np.array(x.shape, dtype=np.int64),
        "keep_bits": np.array(keep_bits, dtype=np.int64),
        "data": np.frombuffer(blob, dtype=np.uint8),
    }


def unpack_array(d) -> np.ndarray:
    layout = str(d["layout"])
    if layout != LAYOUT:
        raise ValueError(f"unknown packed layout {layout!r} (expected {LAYOUT!r})")
    shape = tuple(int(n) for n in d["shape"])
    raw = lzma.decompress(np.asarray(d["data"], dtype=np.uint8).tobytes())
    n = int(np.prod(shape))
    if len(raw) != 4 * n:
        raise ValueError("packed array is corrupt (size mismatch)")
    b = np.frombuffer(raw, dtype=np.uint8).reshape(4, n).T.copy()
    return b.view(np.float32).reshape(shape)


def save_packed(path: Path, a: np.ndarray, keep_bits: int = 12) -> None:
    with open(path, "wb") as fh:
        np.savez(fh, **pack_array(a, keep_bits))


def load_packed(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as d:
        return unpack_array(d)
