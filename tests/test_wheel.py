"""A wheel built from the repository carries its configs: installed outside the checkout,
``surrogate-hpo budget=quick`` runs from another folder (the way a cluster image installs it).

The virtual environment reuses this machine's installed dependencies
(``--system-site-packages``; torch and Ray are GBs) but gets the package only from the wheel,
which the test checks (``surrogate_hpo.__file__`` lies in the venv).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_wheel_installed_outside_the_checkout_runs_a_quick_study(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("surrogate_hpo-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "surrogate_hpo/conf/config.yaml" in names and "surrogate_hpo/conf/method/naswot.yaml" in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, capture_output=True,
                   timeout=300)
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    where = subprocess.run([str(py), "-c", "import surrogate_hpo; print(surrogate_hpo.__file__)"], cwd=elsewhere,
                           capture_output=True, text=True, env=env, check=True).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the wheel's copy, not the checkout
    proc = subprocess.run([str(venv / "bin" / "surrogate-hpo"), "budget=quick", "final_evaluation.seeds=1",
                           "output_root=out"], cwd=elsewhere, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "test band-energy MAE" in proc.stdout
    assert list((elsewhere / "out" / "naswot").glob("*/summary.json"))
