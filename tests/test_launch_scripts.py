"""The cluster launch files parse, and submit_job.sh explains itself without a cluster."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

LAUNCH = Path(__file__).resolve().parents[1] / "launch"
SCRIPTS = ["setup.sh", "submit_job.sh", "slurm_study.sbatch"]


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_parses(name):
    proc = _run(["bash", "-n", str(LAUNCH / name)])
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
@pytest.mark.parametrize("name", SCRIPTS)
def test_script_passes_shellcheck(name):
    proc = _run(["shellcheck", "-s", "bash", "-S", "warning", str(LAUNCH / name)])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_submit_job_help_needs_no_cluster():
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = _run(["bash", str(LAUNCH / "submit_job.sh"), "--help"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout and "ray job submit" in proc.stdout and "RAY_ADDRESS" in proc.stdout


def test_submit_job_without_address_says_what_to_set():
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = _run(["bash", str(LAUNCH / "submit_job.sh"), "method=tpe"], env=env)
    assert proc.returncode == 2
    assert "RAY_ADDRESS" in proc.stderr


def test_submit_job_passes_overrides_through():
    env = {**os.environ, "RAY_ADDRESS": "http://127.0.0.1:8265"}
    env.pop("OUTPUT_ROOT", None)
    proc = _run(["bash", str(LAUNCH / "submit_job.sh"), "--dry-run", "--no-wait", "--",
                 "method=tpe", "method.n_trials=7", "output_root=/shared/hpo"], env=env)
    assert proc.returncode == 0, proc.stderr
    cmd = proc.stdout.split()
    assert cmd[:5] == ["ray", "job", "submit", "--address", "http://127.0.0.1:8265"]
    assert "--working-dir" in cmd and cmd[cmd.index("--working-dir") + 1] == "."
    assert "--no-wait" in cmd
    tail = cmd[cmd.index("--") + 1:]
    assert tail == ["surrogate-hpo", "cluster.address=auto", "method=tpe", "method.n_trials=7",
                    "output_root=/shared/hpo"]
    assert "warning" not in proc.stderr  # output_root given


def test_submit_job_warns_without_output_root():
    env = {**os.environ, "RAY_ADDRESS": "http://127.0.0.1:8265"}
    env.pop("OUTPUT_ROOT", None)
    proc = _run(["bash", str(LAUNCH / "submit_job.sh"), "--dry-run", "method=tpe"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert "output_root" in proc.stderr
    env["OUTPUT_ROOT"] = "/shared/out"
    proc = _run(["bash", str(LAUNCH / "submit_job.sh"), "--dry-run", "method=tpe"], env=env)
    assert proc.stdout.split()[-1] == "output_root=/shared/out" and not proc.stderr


def test_slurm_script_runs_the_study_against_its_head():
    text = (LAUNCH / "slurm_study.sbatch").read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert "#SBATCH --nodes=" in text and "#SBATCH --cpus-per-task=" in text
    assert "ray start --head" in text and "ray start --address" in text
    assert 'surrogate-hpo cluster.address="$address" "$@"' in text
    assert "ray stop" in text and "trap cleanup EXIT" in text


def test_cluster_yaml_parses_and_sets_up_every_node():
    cfg = yaml.safe_load((LAUNCH / "ray_cluster.yaml").read_text())
    assert cfg["cluster_name"] and cfg["provider"]["type"]
    assert any("bash launch/setup.sh" in c for c in cfg["setup_commands"])
    assert any("ray start --head" in c for c in cfg["head_start_ray_commands"])
    assert any("ray start --address" in c for c in cfg["worker_start_ray_commands"])
