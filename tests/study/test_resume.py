"""Study folders: which one resume= picks, what makes it ours, and what a resume must match."""

import json

import pytest

from surrogate_hpo.errors import ConfigError
from surrogate_hpo.study.resume import MARKER, config_differences, open_study_folder

CFG = {"study_name": "naswot", "output_root": "out", "resume": False, "seed": 0, "cluster": {"num_cpus": 2},
       "method": {"name": "naswot", "n_inits": 5}, "data": {"path": "/a", "max_train_points_per_snapshot": None}}


def _study(root, stamp, cfg=CFG, fingerprint={"data": "d1", "metadata": "m1"}):
    d = root / "naswot" / stamp
    folder = open_study_folder(False, str(root), "naswot", d)
    folder.begin(cfg, fingerprint)
    return d


def test_resume_picks_the_latest_valid_study(tmp_path):
    root = tmp_path / "out"
    _study(root, "20260101-000000")
    _study(root, "20260102-000000")
    (root / "naswot" / "20260103-000000").mkdir()  # not a study: no study.json
    folder = open_study_folder(True, str(root), "naswot", root / "naswot" / "20260104-000000")
    assert folder.resuming and folder.path.name == "20260102-000000"
    assert open_study_folder(False, str(root), "naswot", root / "x").resuming is False


def test_a_folder_that_is_not_ours_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no study named 'tpe'"):
        open_study_folder(True, str(tmp_path), "tpe", tmp_path / "x")
    with pytest.raises(ConfigError, match="not a surrogate_hpo study folder"):
        open_study_folder(str(tmp_path), str(tmp_path), "tpe", tmp_path / "x")
    (tmp_path / MARKER).write_text(json.dumps({"config": {}}))  # no format tag
    with pytest.raises(ConfigError, match="not a surrogate_hpo study folder"):
        open_study_folder(str(tmp_path), str(tmp_path), "tpe", tmp_path / "x")
    (tmp_path / MARKER).write_text("not json")
    with pytest.raises(ConfigError, match="not a surrogate_hpo study folder"):
        open_study_folder(str(tmp_path), str(tmp_path), "tpe", tmp_path / "x")


def test_resume_checks_config_and_data_and_names_the_differences(tmp_path):
    d = _study(tmp_path / "out", "s1")
    folder = open_study_folder(str(d), "elsewhere", "other", tmp_path / "x")
    # what does not define the study may change: cluster, paths, names, resume itself
    folder.check_same_study({**CFG, "cluster": {"num_cpus": 8}, "output_root": "x", "resume": str(d),
                             "data": {**CFG["data"], "path": "/b"}}, {"data": "d1", "metadata": "m1"})
    with pytest.raises(ConfigError) as e:
        folder.check_same_study({**CFG, "method": {"name": "tpe", "n_inits": 5}}, {"data": "d1", "metadata": "m1"})
    assert "method.name: 'naswot' -> 'tpe'" in str(e.value)
    with pytest.raises(ConfigError, match="the snapshot files .* differ"):
        folder.check_same_study(CFG, {"data": "d2", "metadata": "m1"})
    with pytest.raises(ConfigError, match="metadata files .* differ"):
        folder.check_same_study(CFG, {"data": "d1", "metadata": "m2"})
    # a study begun before metadata were fingerprinted compares the arrays only
    folder.marker["fingerprint"].pop("metadata")
    folder.check_same_study(CFG, {"data": "d1", "metadata": "m2"})
    assert config_differences(CFG, {**CFG, "seed": 1}) == ["seed: 0 -> 1"]


def test_study_json_is_written_once_and_status_records_each_run(tmp_path):
    d = _study(tmp_path / "out", "s1")
    before = (d / MARKER).read_text()
    folder = open_study_folder(str(d), "out", "naswot", tmp_path / "x")
    folder.begin({**CFG, "resume": str(d)}, {"data": "d1", "metadata": "m1"})
    folder.end("finished")
    assert (d / MARKER).read_text() == before  # provenance kept
    status = json.loads((d / "status.json").read_text())
    assert status["status"] == "finished" and len(status["runs"]) == 2 and status["runs"][1]["resumed"]
