"""Atomic writes: a file appears whole or not at all, under its own name only."""

from __future__ import annotations

import itertools
import os

import pytest

from surrogate_hpo.util import atomic
from surrogate_hpo.util.atomic import atomic_open, write_json


def test_a_link_at_the_name_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "summary.json").symlink_to(victim)
    write_json(tmp_path / "summary.json", {"a": 1})
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "summary.json").is_symlink() and '"a": 1' in (tmp_path / "summary.json").read_text()


def test_a_leftover_or_planted_temporary_file_does_not_block_or_leak(tmp_path, monkeypatch):
    """A run killed mid-write under the same pid left its temporary file; a link planted at
    that name is removed, not written through."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    monkeypatch.setattr(atomic, "_counter", itertools.count(7))
    stale = tmp_path / f".x.json.part-{os.getpid()}-7"
    stale.symlink_to(victim)
    monkeypatch.setattr(atomic, "_counter", itertools.count(7))
    write_json(tmp_path / "x.json", [1])
    assert victim.read_text() == "keep me" and not stale.exists()
    assert (tmp_path / "x.json").read_text().split() == ["[", "1", "]"]


def test_an_error_leaves_the_previous_file(tmp_path):
    write_json(tmp_path / "x.json", {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_open(tmp_path / "x.json") as fh:
            fh.write(b"half")
            raise RuntimeError("killed")
    assert '"v": 1' in (tmp_path / "x.json").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
