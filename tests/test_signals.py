"""SIGINT and SIGTERM at any moment, Ray's start-up included: our message, exit 130 or 143,
no traceback, and a study folder that ``resume=true`` continues (real CLI, real Ray)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _run_until(marker: str, sig: int, data: Path, out: Path, delay: float = 0.0) -> tuple[int, str, str]:
    cmd = [sys.executable, "-m", "surrogate_hpo", "data=mala_dir", f"data.path={data}", "search_space=small",
           "training.max_epochs=30", "final_evaluation.seeds=2", f"output_root={out}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SURROGATE_HPO_CACHE": str(out.parent / "cache")})
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            time.sleep(delay)
            proc.send_signal(sig)
            break
    rest, err = proc.communicate(timeout=180)
    return proc.returncode, "".join(seen) + rest, err


@pytest.mark.slow
@pytest.mark.parametrize("sig, code, marker, delay", [
    (signal.SIGTERM, 143, "[data]", 0.0),          # while Ray starts
    (signal.SIGINT, 130, "[data]", 0.0),
    (signal.SIGTERM, 143, "[final] training", 1.0),  # inside a Tune stage
])
def test_a_signal_stops_the_study_with_our_message(synthetic_dir, tmp_path, sig, code, marker, delay):
    out = tmp_path / "out"
    rc, stdout, err = _run_until(marker, sig, synthetic_dir, out, delay)
    assert rc == code, stdout[-2000:] + err[-3000:]
    assert f"stopped by {signal.Signals(sig).name}" in err and "resume=true" in err
    assert "Traceback" not in err and "Traceback" not in stdout
    (study,) = (out / "naswot").iterdir()
    assert json.loads((study / "status.json").read_text())["status"] == "interrupted"
