"""Studies that stream their training rows from Parquet shards through Ray Data (real Ray)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from composed_config import compose_config, data_config

from surrogate_hpo.data import SnapshotSet, write_shards
from surrogate_hpo.data.train_stream import training_bytes, wants_streaming
from surrogate_hpo.errors import ConfigError
from surrogate_hpo.experiment import run_study

TINY = ["data=mala_dir", "search_space=small", "training.max_epochs=2", "final_evaluation.seeds=2",
        "method.candidates_per_trial=8", "data.max_train_points_per_snapshot=50"]


def _final_rows(run_dir):
    return pd.read_csv(run_dir / "final_trials.csv")


def test_streamed_study_trains_on_every_shard_row(ray_local, synthetic_dir, tmp_path):
    """With data.streaming=true each final training sees all 3 x 216 training rows from the
    study's own shards; the same study in memory sees the 3 x 50 subsampled rows."""
    sset = SnapshotSet.from_directory(synthetic_dir)
    all_rows = sum(s.n_points for s in sset.train)
    out = tmp_path / "out"
    streamed = out / "naswot" / "streamed"
    summary = run_study(compose_config(TINY + [f"data.path={synthetic_dir}", f"output_root={out}",
                                               "data.streaming=true"]), streamed)
    rows = _final_rows(streamed)
    assert len(rows) == 2 and rows["streamed"].all()
    assert (rows["train_rows_per_epoch"] == all_rows).all()
    manifest = json.loads((streamed / "shards" / "manifest.json").read_text())
    assert manifest["splits"]["train"] == [s.name for s in sset.train]
    assert summary["final_evaluation"]["test_band_energy_mae_mev_per_atom"]["n"] == 2

    in_memory = out / "naswot" / "in_memory"
    run_study(compose_config(TINY + [f"data.path={synthetic_dir}", f"output_root={out}",
                                     "data.streaming=false"]), in_memory)
    rows = _final_rows(in_memory)
    assert not rows["streamed"].any()
    assert (rows["train_rows_per_epoch"] == 50 * len(sset.train)).all()
    assert not (in_memory / "shards").exists()


def test_streamed_training_search_uses_given_shards(ray_local, synthetic_dir, tmp_path):
    """A TPE study reads its trials' training rows from data.shards written beforehand."""
    shards = write_shards(synthetic_dir, tmp_path / "shards", rows_per_shard=200)
    out = tmp_path / "out"
    run_dir = out / "tpe" / "run"
    base = [o for o in TINY if not o.startswith("method.")]
    run_study(compose_config(["method=tpe", "method.n_trials=2", "method.repeats=1", *base,
                              f"data.path={synthetic_dir}", f"output_root={out}", f"data.shards={shards}"]), run_dir)
    trials = pd.read_csv(run_dir / "tpe_trials.csv")
    assert len(trials) == 2 and set(trials["status"]) == {"ok"}
    assert _final_rows(run_dir)["streamed"].all()
    assert not (run_dir / "shards").exists()  # the given shards were used, none written


def test_shards_of_another_split_are_refused_before_ray(synthetic_dir, tmp_path):
    shards = write_shards(synthetic_dir, tmp_path / "shards", train=["snap0"], validation=["snap1"],
                          test=["snap4"])
    cfg = compose_config(TINY + [f"data.path={synthetic_dir}", f"output_root={tmp_path}", f"data.shards={shards}"])
    with pytest.raises(ConfigError, match=r"training split \['snap0'\] is not the study's"):
        run_study(cfg, tmp_path / "run")


def test_streaming_setting_and_auto_threshold(synthetic_dir):
    sset = SnapshotSet.from_directory(synthetic_dir)
    assert data_config(["data.streaming=false"]).streaming is False
    with pytest.raises(ConfigError, match="data.streaming='sometimes': choose one of 'auto', true, false"):
        data_config(["data.streaming=sometimes"])
    size_gb = training_bytes(sset) / 2**30
    assert training_bytes(sset) == 3 * 216 * (24 + 30) * 4
    assert not wants_streaming(data_config(streaming="auto", streaming_threshold_gb=2.0), sset)
    assert wants_streaming(data_config(streaming="auto", streaming_threshold_gb=size_gb / 2), sset)
    assert not wants_streaming(data_config(streaming=False, streaming_threshold_gb=1e-9), sset)
    assert wants_streaming(data_config(streaming="auto", shards="/some/shards"), sset)


def test_shards_of_another_data_set_with_the_same_names_and_shapes_are_refused(synthetic_dir, tmp_path):
    from synthetic_study_data import write_synthetic_set

    other = write_synthetic_set(tmp_path / "other", seed=7)  # same names, grids and shapes, other values
    shards = write_shards(other, tmp_path / "shards")
    cfg = compose_config(TINY + [f"data.path={synthetic_dir}", f"output_root={tmp_path}", f"data.shards={shards}"])
    with pytest.raises(ConfigError, match=r"the shards of snapshot snap0 were not written from .*other file contents"):
        run_study(cfg, tmp_path / "run")
