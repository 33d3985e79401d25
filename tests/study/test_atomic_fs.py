"""The storage filesystem Tune writes through: files appear whole, under their own name."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pyarrow.fs as pafs

from surrogate_hpo.study.atomic_fs import atomic_local_filesystem


def test_a_file_appears_only_when_closed(tmp_path):
    fs = atomic_local_filesystem()
    target = tmp_path / "tuner.pkl"
    stream = fs.open_output_stream(str(target))
    stream.write(b"x" * 1000)
    # mid-write: the target does not exist yet (a reader finds the old version or nothing)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()][0].startswith(".tuner.pkl.part-")
    stream.close()
    assert target.read_bytes() == b"x" * 1000
    assert [p.name for p in tmp_path.iterdir()] == ["tuner.pkl"]


def test_a_write_killed_midway_leaves_the_old_file(tmp_path):
    target = tmp_path / "experiment_state.json"
    target.write_text("old, complete")
    # a process that dies in the middle of writing (os._exit: no clean-up runs)
    code = ("import os, sys\n"
            "from surrogate_hpo.study.atomic_fs import atomic_local_filesystem\n"
            "s = atomic_local_filesystem().open_output_stream(sys.argv[1])\n"
            "s.write(b'new, but cut o'); s.flush(); os._exit(9)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(target)], timeout=60)
    assert proc.returncode == 9
    assert target.read_text() == "old, complete"


def test_copy_files_of_a_folder_and_pickling(tmp_path):
    src = tmp_path / "staging"
    (src / "trial_0").mkdir(parents=True)
    (src / "trial_0" / "result.json").write_text('{"a": 1}\n')
    (src / "searcher-state.pkl").write_bytes(pickle.dumps({"n": 3}))
    fs = pickle.loads(pickle.dumps(atomic_local_filesystem()))  # trial actors get a copy
    dest = tmp_path / "storage"
    pafs.copy_files(str(src), str(dest), destination_filesystem=fs)
    assert (dest / "trial_0" / "result.json").read_text() == '{"a": 1}\n'
    assert pickle.loads((dest / "searcher-state.pkl").read_bytes()) == {"n": 3}
    assert not [p for p in dest.rglob(".*part-*")]
