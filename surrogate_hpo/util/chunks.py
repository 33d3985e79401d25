"""Rows in consecutive chunks: the one way the package batches rows and candidates."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["chunk_bounds", "row_slices"]


def chunk_bounds(n_items: int, chunk_size: int) -> list[tuple[int, int]]:
    """``range(n_items)`` as consecutive ``(start, stop)`` pairs of at most ``chunk_size``."""
    if chunk_size < 1:
        raise ValueError(f"chunk size must be >= 1, got {chunk_size}")
    return [(a, min(a + chunk_size, n_items)) for a in range(0, n_items, chunk_size)]


def row_slices(n_rows: int, chunk_rows: int) -> Iterator[slice]:
    """``slice(start, stop)`` for each chunk of :func:`chunk_bounds`."""
    for a, b in chunk_bounds(n_rows, chunk_rows):
        yield slice(a, b)
