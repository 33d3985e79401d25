"""Method acsd: a tiny (rcutfac x twojmax) grid through run_study; config errors before Ray."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from composed_config import compose_config

from surrogate_hpo.errors import ConfigError
from surrogate_hpo.experiment import run_study
from surrogate_hpo.search.methods.acsd import select_setting


def _cfg(tmp_path, extra=()):
    return compose_config([
        "data=sample", "method=acsd", "method.rcutfac=[3.0,4.0]", "method.twojmax=[2,4]",
        "method.n_snapshots=1", "method.n_points=40", f"method.cache_dir={tmp_path / 'cache'}",
        f"output_root={tmp_path}", *extra,
    ])


def test_select_setting_rule():
    rows = [
        {"rcutfac": 3.0, "twojmax": 2, "acsd": 0.20},
        {"rcutfac": 3.0, "twojmax": 8, "acsd": 0.10},   # the minimum
        {"rcutfac": 4.0, "twojmax": 8, "acsd": 0.105},  # within 10% of the range, larger cutoff
        {"rcutfac": 4.0, "twojmax": 10, "acsd": 0.101},  # also within, but larger twojmax
        {"rcutfac": 5.0, "twojmax": 2, "acsd": 0.30},   # largest cutoff, but not within tolerance
    ]
    chosen, sel = select_setting(rows, tolerance=0.1)
    assert (chosen["rcutfac"], chosen["twojmax"]) == (4.0, 8)
    assert sel["threshold"] == pytest.approx(0.12) and sel["n_within_tolerance"] == 3
    chosen0, _ = select_setting(rows, tolerance=0.0)
    assert (chosen0["rcutfac"], chosen0["twojmax"]) == (3.0, 8)  # tolerance 0: the minimum
    chosen1, _ = select_setting(rows, tolerance=1.0)
    assert (chosen1["rcutfac"], chosen1["twojmax"]) == (5.0, 2)
    # relative to the minimum: 0.10 * 1.02 = 0.102 admits 4.0/10 but not 4.0/8
    chosen_min, sel_min = select_setting(rows, tolerance=0.02, tolerance_of="min")
    assert (chosen_min["rcutfac"], chosen_min["twojmax"]) == (4.0, 10)
    assert sel_min["threshold"] == pytest.approx(0.102)


def test_tiny_acsd_study(ray_local, tmp_path):
    cfg = _cfg(tmp_path, ["method.write_dataset=true"])
    run_dir = tmp_path / "acsd" / "run1"
    summary = run_study(cfg, run_dir)
    trials = pd.read_parquet(run_dir / "acsd_trials.parquet")
    assert sorted(zip(trials["rcutfac"], trials["twojmax"])) == [(3.0, 2), (3.0, 4), (4.0, 2), (4.0, 4)]
    assert (trials["status"] == "ok").all()
    assert trials["acsd"].between(0, 2).all()
    assert set(trials["n_features"]) == {5, 14}
    assert pd.read_csv(run_dir / "acsd_trials.csv").shape[0] == 4
    best = json.loads((run_dir / "acsd_best.json").read_text())
    assert best["acsd"] == pytest.approx(trials["acsd"].min())
    rows = trials.to_dict("records")
    expect, _ = select_setting(rows, tolerance=cfg["method"]["tolerance"], tolerance_of=cfg["method"]["tolerance_of"])
    chosen = summary["descriptors"]
    assert (chosen["rcutfac"], chosen["twojmax"]) == (expect["rcutfac"], expect["twojmax"])
    assert summary["objective"] == pytest.approx(expect["acsd"])
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk["objective"] == pytest.approx(summary["objective"])
    assert len(on_disk["method_details"]["settings_table"]) == 4 + 3
    assert "<- chosen" in (run_dir / "summary.md").read_text()
    assert json.loads((run_dir / "status.json").read_text())["status"] == "finished"
    assert "chosen" not in summary and "final_evaluation" not in summary  # no network, no training
    # one per setting on the one snapshot used, + the chosen setting on the 9 other snapshots
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 4 + 9
    # write_dataset: every snapshot with the chosen descriptors, as MALA files
    ds = run_dir / "dataset"
    x = np.load(ds / "Al_298K_000.in.npy")
    assert x.shape == (24, 24, 24, 3 + chosen["n_features"])
    assert np.load(ds / "Al_298K_000.out.npy").shape == (24, 24, 24, 84)
    info = json.loads((ds / "Al_298K_000.info.json").read_text())
    assert info["descriptors"]["rcutfac"] == chosen["rcutfac"]
    assert info["descriptors"]["twojmax"] == chosen["twojmax"]
    assert len(list(ds.glob("*.in.npy"))) == 10

    # resume: nothing is recomputed, same choice
    again = run_study({**cfg, "resume": str(run_dir)}, run_dir.parent / "run2")
    after = pd.read_csv(run_dir / "acsd_trials.csv")
    assert len(after) == 4
    assert again["descriptors"] == summary["descriptors"]


@pytest.mark.parametrize("overrides, words", [
    (["method.twojmax=[2,21]"], "twojmax=[21] is outside"),
    (["method.twojmax=[2.5]"], "must be an integer"),
    (["method.rcutfac=[3.0,40.0]"], "too large"),
    (["method.rcutfac=[-1.0]"], "positive"),
    (["method.n_snapshots=99"], "n_snapshots"),
    (["method.snapshots=[nope]"], "nope"),
    (["method.tolerance=-1"], "tolerance"),
    (["method.tolerance_of=max"], "tolerance_of"),
    (["+method.tolerence=0.1"], "did you mean method.tolerance"),
])
def test_config_errors_before_ray(tmp_path, monkeypatch, overrides, words):
    import surrogate_hpo.experiment as experiment

    def no_ray(*a, **k):
        raise AssertionError("Ray must not start for a bad config")

    monkeypatch.setattr(experiment, "RayStarting", no_ray)
    with pytest.raises(ConfigError) as e:
        run_study(_cfg(tmp_path, overrides), tmp_path / "run")
    assert words in str(e.value)


def test_mala_dir_and_sample_give_the_same_acsd(tmp_path):
    """The mala_dir loader (sidecar atoms + .out.npy) sees the same snapshots as data=sample."""
    import shutil

    from surrogate_hpo.data.bundled import BUNDLED_DIR
    from surrogate_hpo.data.config import DataConfig
    from surrogate_hpo.data.generate.pack import load_packed
    from surrogate_hpo.data.prepared import load_snapshot_set
    from surrogate_hpo.search.methods.acsd import (
        AcsdConfig,
        acsd_of_setting,
        prepare_pairs,
    )
    from surrogate_hpo.util.typed_config import parse

    d = tmp_path / "snaps"
    d.mkdir()
    for name in ("Al_298K_000", "Al_298K_001", "Al_298K_002"):
        np.save(d / f"{name}.out.npy", load_packed(BUNDLED_DIR / f"{name}.ldos.npz").astype(np.float32))
        shutil.copy(BUNDLED_DIR / f"{name}.info.json", d / f"{name}.info.json")
    values = []
    for data in (["data=sample"], ["data=mala_dir", f"data.path={d}", "data.train=[Al_298K_000]"]):
        cfg = _cfg(tmp_path, data)
        sset = load_snapshot_set(parse(DataConfig, cfg["data"], "data"), require_descriptors=False)
        snaps = prepare_pairs(sset.train[:1], parse(AcsdConfig, cfg["method"], "method"), cfg["seed"])
        assert [s["name"] for s in snaps] == ["Al_298K_000"]
        values.append(acsd_of_setting(3.0, 2, snaps, cache_dir=tmp_path / "cache")["acsd"])
    assert values[0] == pytest.approx(values[1], rel=1e-6)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1  # same atoms, grid, settings: one cache entry
