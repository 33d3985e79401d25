"""Ray processes a killed study left behind are stopped by the next one, and nothing else is:
not another program named in a planted record, nor anything a record others can write names."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time

import pytest

from surrogate_hpo.study.ray_runtime import _start_ticks, clean_leftover_processes

RAY_DIR = importlib.util.find_spec("ray").submodule_search_locations[0]


def _process(*extra: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", *extra])
    time.sleep(0.2)
    return proc


def _record(cache, procs, mode=0o600):
    folder = cache / "ray_processes"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "12345.json"
    path.write_text(json.dumps({"driver": [2**22 + 7, 1],  # a driver that is gone
                                "processes": [[p.pid, _start_ticks(p.pid)] for p in procs]}))
    os.chmod(path, mode)
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SURROGATE_HPO_CACHE", str(tmp_path))
    return tmp_path


def test_only_ray_processes_of_a_gone_driver_are_stopped(cache):
    ray_like, other = _process(f"{RAY_DIR}/_private/workers/default_worker.py"), _process()
    try:
        _record(cache, [ray_like, other])
        assert clean_leftover_processes() == [ray_like.pid]
        assert ray_like.wait(timeout=10) == -9
        assert other.poll() is None
    finally:
        for p in (ray_like, other):
            p.kill()
            p.wait()


def test_a_record_others_can_write_is_not_read(cache):
    ray_like = _process(f"{RAY_DIR}/_private/workers/default_worker.py")
    try:
        record = _record(cache, [ray_like], mode=0o666)
        assert clean_leftover_processes() == []
        assert ray_like.poll() is None and record.exists()
    finally:
        ray_like.kill()
        ray_like.wait()
