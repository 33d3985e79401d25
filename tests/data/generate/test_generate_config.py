"""The generator's settings are checked before the MD starts: one line naming the key, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from surrogate_hpo.data.generate.pipeline import GenerateConfig, preflight
from surrogate_hpo.errors import ConfigError


@pytest.mark.parametrize("settings, words", [
    ({"n_snapshots": 0}, "n_snapshots=0 must be >= 1"),
    ({"n_snapshots": "abc"}, "n_snapshots='abc' must be a whole number"),
    ({"temperature": -5}, "temperature=-5 must be > 0"),
    ({"keep_bits": 99}, "keep_bits=99 must be between 1 and 23"),
    ({"format": "hdf"}, "format='hdf': choose mala or bundle"),
    ({"name_prefix": "../../escape"}, "name_prefix='../../escape' must be a plain file name"),
    ({"md": {"element": "Xx"}}, "md.element: 'Xx' is not a chemical element symbol"),
    ({"qe": {"kpoints": [2, 2]}}, "qe.kpoints=[2, 2] must be three whole numbers >= 1"),
    ({"qe": {"kshift": [0, 0, 2]}}, "qe.kshift=[0, 0, 2] must be three whole numbers >= 0 and <= 1"),
    ({"qe": {"npool": 0}}, "qe.npool=0 must be >= 1"),
    ({"ldos": {"spacing": 0}}, "ldos.spacing=0 must be > 0"),
])
def test_a_bad_setting_is_a_config_error_naming_the_key(settings, words):
    with pytest.raises(ConfigError) as err:
        GenerateConfig.from_mapping(settings)
    assert str(err.value).startswith(words)


@pytest.mark.parametrize("qe, md, words", [
    ({"pw_command": "no-such-pw.x"}, {}, "qe.pw_command: 'no-such-pw.x' is not on PATH"),
    ({"pseudopotentials": {"Al": "missing.UPF"}}, {}, "qe.pseudopotentials.Al: "),
    ({}, {"potential": "no_such.eam"}, "md.potential / md.pair_coeff: potential 'no_such.eam' is neither a file"),
    ({}, {"element": "Cu"}, "qe.pseudopotentials has no file for Cu: add qe.pseudopotentials.Cu=<file.UPF>"),
])
def test_preflight_finds_what_the_run_needs(tmp_path, qe, md, words):
    (tmp_path / "Al.pz-vbc.UPF").write_text("")  # QE itself need not be installed for these checks
    present = {"pw_command": sys.executable, "pp_command": sys.executable, "mpi_command": "",
               "pseudo_dir": str(tmp_path)}
    settings = GenerateConfig.from_mapping({"qe": {**present, **qe}, "md": md})
    with pytest.raises(ConfigError) as err:
        preflight(settings)
    assert str(err.value).startswith(words)
    preflight(GenerateConfig.from_mapping({"qe": present}))  # and the defaults pass


def test_preflight_runs_before_the_md(tmp_path, monkeypatch):
    from surrogate_hpo.data.generate import pipeline

    def md_started(*args, **kwargs):
        raise AssertionError("the MD started")

    monkeypatch.setattr(pipeline, "thermal_snapshots", md_started)
    cfg = GenerateConfig.from_mapping({"output_dir": str(tmp_path),
                                       "qe": {"pw_command": sys.executable, "pp_command": "no-such-pp.x"}})
    with pytest.raises(ConfigError, match="qe.pp_command: 'no-such-pp.x' is not on PATH"):
        pipeline.generate_dataset(cfg)


@pytest.mark.parametrize("setting, words", [
    ("n_snapshots=0", "n_snapshots=0 must be >= 1"),
    ("output_dir={tmp}/file.txt/out", "output_dir={tmp}/file.txt/out: {tmp}/file.txt is a file, not a folder"),
])
def test_the_command_ends_with_one_line_and_exit_2(tmp_path, setting, words):
    (tmp_path / "file.txt").write_text("")
    setting, words = setting.format(tmp=tmp_path), words.format(tmp=tmp_path)
    proc = subprocess.run([sys.executable, "-m", "surrogate_hpo.cli.generate", f"output_dir={tmp_path}/out", setting],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"surrogate-hpo-generate: ConfigError: {words}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.rglob("*.npy")) and not list(tmp_path.rglob("*.info.json"))
    assert not (tmp_path / "out").exists()  # not even Hydra's log folder


def test_the_shipped_settings_pass_and_null_stays_allowed_where_documented():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from surrogate_hpo.cli import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR / "generate"), version_base="1.3"):
        for name in ("config", "sample", "tiny", "al32", "almg"):
            GenerateConfig.from_mapping(OmegaConf.to_container(compose(config_name=name), resolve=True))
    cfg = GenerateConfig.from_mapping({"qe": {"nbnd": None, "ecutrho": None}, "ldos": {"degauss_ldos": None}})
    assert cfg.qe.nbnd is None
