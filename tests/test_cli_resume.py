"""resume= through the real CLI: it checks what it resumes, and a finished study stays as it is."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*overrides, data: Path, out: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "surrogate_hpo", "data=mala_dir", f"data.path={data}", "search_space=small",
           "training.max_epochs=2", "final_evaluation.seeds=1", f"output_root={out}", *overrides]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ})


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_resume_checks_the_study_and_leaves_a_finished_one_untouched(synthetic_dir, tmp_path):
    out = tmp_path / "out"
    first = _cli("method.candidates_per_trial=8", data=synthetic_dir, out=out)
    assert first.returncode == 0, first.stderr[-3000:]
    (study,) = (out / "naswot").iterdir()
    before = _snapshot(study)

    again = _cli("resume=true", data=synthetic_dir, out=out)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "finished already; nothing to resume" in again.stdout and "test band-energy MAE" in again.stdout
    assert _snapshot(study) == before  # nothing rewritten, not even the wall time
    assert [p.name for p in (out / "naswot").iterdir()] == [study.name]  # no empty run folder

    for change, key in ((["method=tpe", "method.n_trials=2"], "method.name: 'naswot' -> 'tpe'"),
                        (["training.max_epochs=5"], "training.max_epochs: 2 -> 5"),
                        (["search_space.architecture.width=[8]"], "search_space.architecture.width")):
        proc = _cli(f"resume={study}", *change, data=synthetic_dir, out=out)
        assert proc.returncode == 2, proc.stderr[-3000:]
        assert "this is not the same study" in proc.stderr and key in proc.stderr
        assert "Traceback" not in proc.stderr
    assert _snapshot(study) == before  # the original study.json and everything else kept

    not_ours = tmp_path / "planted"
    not_ours.mkdir()
    (not_ours / "tuner.pkl").write_bytes(b"\x80\x04K\x01.")
    proc = _cli(f"resume={not_ours}", data=synthetic_dir, out=out)
    assert proc.returncode == 2 and "not a surrogate_hpo study folder" in proc.stderr
