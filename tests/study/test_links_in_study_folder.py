"""A link planted in a study folder is never written through: the study refuses to start or
resume there, and a plot replaces a link at its name; the file linked to stays as it was."""

from __future__ import annotations

import pytest

from surrogate_hpo.errors import ConfigError
from surrogate_hpo.study.plots import new_figure, save_figure
from surrogate_hpo.study.resume import open_study_folder
from surrogate_hpo.util.folders import links_inside


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "elsewhere" / "important.txt"
    path.parent.mkdir()
    path.write_text("keep me")
    return path


def test_a_study_folder_with_a_link_inside_is_refused(tmp_path, victim):
    run_dir = tmp_path / "out" / "naswot" / "20260101-000000"
    (run_dir / "final").mkdir(parents=True)
    (run_dir / "final" / "naswot_scores.png").symlink_to(victim)
    folder = open_study_folder(False, str(tmp_path / "out"), "naswot", run_dir)
    with pytest.raises(ConfigError, match="holds symbolic links .*naswot_scores.png"):
        folder.check_no_links()
    assert victim.read_text() == "keep me"
    assert links_inside(tmp_path / "elsewhere") == []


def test_a_plot_replaces_a_link_at_its_name(tmp_path, victim):
    (tmp_path / "plot.png").symlink_to(victim)
    fig = new_figure((2, 2))
    fig.subplots().plot([0, 1], [1, 0])
    save_figure(fig, tmp_path / "plot.png")
    assert not (tmp_path / "plot.png").is_symlink()
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
    assert victim.read_text() == "keep me"


def test_a_study_stops_at_its_config_checks_when_its_folder_holds_a_link(tmp_path, victim, monkeypatch):
    """Before any data is read or Ray starts (a colleague planted the link in a shared output root)."""
    from composed_config import compose_config

    from surrogate_hpo import experiment
    from surrogate_hpo.experiment import run_study

    def no_data(*args, **kwargs):
        raise AssertionError("the data were loaded (and Ray started) before the folder was checked")

    monkeypatch.setattr(experiment, "_load_data", no_data)

    run_dir = tmp_path / "out" / "naswot" / "20260101-000000"
    run_dir.mkdir(parents=True)
    (run_dir / "tune").symlink_to(victim.parent, target_is_directory=True)
    cfg = compose_config(["budget=quick", f"output_root={tmp_path / 'out'}"])
    with pytest.raises(ConfigError, match="holds symbolic links"):
        run_study(cfg, run_dir)
    assert sorted(p.name for p in victim.parent.iterdir()) == ["important.txt"]
