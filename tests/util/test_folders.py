"""Output folders asked before any work: can they be written?"""

from __future__ import annotations

from pathlib import Path

import pytest

from surrogate_hpo.util.folders import why_not_writable


def test_a_folder_below_a_writable_one_can_be_made_and_nothing_is_left(tmp_path):
    assert why_not_writable(tmp_path / "a" / "b") is None
    assert list(tmp_path.iterdir()) == []  # the probe is removed, the folder not made


def test_a_file_in_the_path_is_named(tmp_path):
    (tmp_path / "f").write_text("x")
    assert why_not_writable(tmp_path / "f" / "out") == f"{tmp_path / 'f'} is a file, not a folder"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_virtual_file_system_is_refused_even_for_root():
    """``os.access`` says root may write /proc; making a folder there fails."""
    problem = why_not_writable("/proc/x/out")
    assert problem is not None and problem.startswith("cannot write in /proc")
