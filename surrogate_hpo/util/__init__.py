"""Small helpers every layer may use: atomic writes, strict JSON, typed configs, row chunks."""

from .atomic import (
           atomic_open,
           atomic_write_bytes,
           atomic_write_text,
           read_json,
           replace_dir,
           write_json,
)
from .chunks import chunk_bounds, row_slices
from .json_safe import json_safe

__all__ = ["atomic_open", "atomic_write_bytes", "atomic_write_text", "chunk_bounds", "json_safe", "read_json", "replace_dir",
           "row_slices", "write_json"]
