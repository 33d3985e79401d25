import pytest

from surrogate_hpo.study.errors import ConfigError
from surrogate_hpo.study.study_dir import MARKER, resolve_study_dir


def test_resume_picks_latest_earlier_study(tmp_path):
    root = tmp_path / "out"
    for stamp in ("20260101-000000", "20260102-000000"):
        d = root / "naswot" / stamp
        d.mkdir(parents=True)
        (d / MARKER).write_text("{}")
    run_dir = root / "naswot" / "20260103-000000"
    cfg = {"resume": True, "output_root": str(root), "study_name": "naswot"}
    study, resuming = resolve_study_dir(cfg, run_dir)
    assert resuming and study.name == "20260102-000000"
    assert resolve_study_dir({**cfg, "resume": False}, run_dir) == (run_dir, False)


def test_resume_without_earlier_study_is_a_clear_error(tmp_path):
    cfg = {"resume": True, "output_root": str(tmp_path), "study_name": "tpe"}
    with pytest.raises(ConfigError, match="no earlier study named 'tpe'"):
        resolve_study_dir(cfg, tmp_path / "x")
    with pytest.raises(ConfigError, match="not a study directory"):
        resolve_study_dir({**cfg, "resume": str(tmp_path)}, tmp_path / "x")
