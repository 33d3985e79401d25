"""Valence charges of pseudopotentials (``z_valence`` of a UPF file), for the total energy."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

__all__ = ["find_pseudopotential", "upf_valence"]

_V2 = re.compile(r'z_valence\s*=\s*"\s*([-+\d.EeDd]+)\s*"')
_V1 = re.compile(r"^\s*([-+\d.EeDd]+)\s+Z valence", re.MULTILINE)


def upf_valence(path: str | os.PathLike) -> float | None:
    """``z_valence`` (e) of a UPF v1 or v2 file; None if the file does not state it."""
    text = Path(path).read_text(errors="replace")[:200_000]
    m = _V2.search(text) or _V1.search(text)
    return float(m.group(1).replace("D", "E").replace("d", "e")) if m else None


def find_pseudopotential(name: str, folders: Iterable[Path]) -> Path | None:
    """The file ``name`` (its base name) in the first of ``folders`` that has it, then in
    ``$ESPRESSO_PSEUDO`` and QE's Debian folder."""
    base = Path(name).name
    extra = [os.environ.get("ESPRESSO_PSEUDO"), "/usr/share/espresso/pseudo"]
    for folder in [*folders, *(Path(e) for e in extra if e)]:
        p = Path(folder) / base
        if p.is_file():
            return p
    return None
