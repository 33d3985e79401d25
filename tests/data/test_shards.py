"""Parquet shards: round trip, manifest, scalers, atomic writes, errors (real pyarrow, real Ray)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from surrogate_hpo.data import (
    DataError,
    SnapshotSet,
    fit_scalers,
    read_manifest,
    write_shards,
)
from surrogate_hpo.data.shards import FORMAT_VERSION, MANIFEST_NAME

ROWS = 100  # the synthetic snapshots have 6x6x6 = 216 points -> 3 shards each (100, 100, 16)


@pytest.fixture(scope="module")
def sset(synthetic_dir):
    return SnapshotSet.from_directory(synthetic_dir)


@pytest.fixture(scope="module")
def shard_dir(synthetic_dir, tmp_path_factory):
    return write_shards(synthetic_dir, tmp_path_factory.mktemp("shards") / "out", rows_per_shard=ROWS)


def _read_rows(files):
    t = pa.concat_tables([pq.read_table(f) for f in files])
    return (t["descriptors"].combine_chunks().to_numpy_ndarray(), t["ldos"].combine_chunks().to_numpy_ndarray(),
            t["snapshot"].to_pylist(), t["point"].to_numpy())


def test_round_trip_every_snapshot(sset, shard_dir):
    m = read_manifest(shard_dir)
    for split, snaps in sset.splits.items():
        assert m.names(split) == [s.name for s in snaps]
        for s in snaps:
            meta = m.raw["snapshots"][s.name]
            files = [shard_dir / sh["file"] for sh in meta["shards"]]
            assert [f.name for f in files] == [f"{s.name}-{k:05d}.parquet" for k in range(3)]
            assert all(f.parent == shard_dir / split for f in files)
            assert [sh["rows"] for sh in meta["shards"]] == [100, 100, 16]
            x, y, names, points = _read_rows(files)
            assert x.dtype == np.float32 and y.dtype == np.float32
            np.testing.assert_array_equal(x, np.asarray(s.descriptors).reshape(-1, s.n_features))
            np.testing.assert_array_equal(y, np.asarray(s.ldos).reshape(-1, s.n_energies))
            assert set(names) == {s.name}
            np.testing.assert_array_equal(points, np.arange(s.n_points, dtype=np.int32))
            assert points.dtype == np.int32


def test_columns_are_fixed_shape_tensors(shard_dir, sset):
    schema = pq.read_schema(next((shard_dir / "train").glob("*.parquet")))
    assert isinstance(schema.field("descriptors").type, pa.FixedShapeTensorType)
    assert list(schema.field("descriptors").type.shape) == [sset.n_features]
    assert list(schema.field("ldos").type.shape) == [sset.n_energies]
    assert schema.field("ldos").type.value_type == pa.float32()
    assert schema.field("snapshot").type == pa.string() and schema.field("point").type == pa.int32()


def test_manifest_contents(shard_dir, sset):
    raw = json.loads((shard_dir / MANIFEST_NAME).read_text())
    assert raw["format_version"] == FORMAT_VERSION
    assert raw["n_features"] == sset.n_features and raw["n_energies"] == sset.n_energies
    assert raw["energy_grid"] == sset.energy_grid.to_dict()
    assert raw["splits"] == {k: sset.names(k) for k in ("train", "validation", "test")}
    for s in sset.all:
        meta = raw["snapshots"][s.name]
        assert meta["grid_shape"] == list(s.grid_shape) and meta["n_rows"] == s.n_points
        assert meta["energy_grid"] == s.energy_grid.to_dict()
        assert meta["temperature"] == pytest.approx(s.temperature)
        assert meta["n_electrons"] == pytest.approx(s.n_electrons)
    m = read_manifest(shard_dir)
    assert m.n_rows("train") == sum(s.n_points for s in sset.train)


def test_scalers_fitted_on_train_only(shard_dir, sset):
    m = read_manifest(shard_dir)
    x_ref, y_ref = fit_scalers(sset, "feature-wise-standard", "minmax")
    assert m.x_scaler == x_ref and m.y_scaler == y_ref
    assert m.x_scaler.count == sum(s.n_points for s in sset.train)
    row = np.asarray(sset.train[0].descriptors).reshape(-1, sset.n_features)[:5]
    np.testing.assert_array_equal(m.x_scaler.transform(row), x_ref.transform(row))


def test_ray_reads_the_train_split(ray_local, shard_dir, sset):
    ds = ray_local.data.read_parquet(str(shard_dir / "train"))
    assert ds.count() == sum(s.n_points for s in sset.train)
    batch = ds.take_batch(7, batch_format="numpy")
    assert batch["descriptors"].shape == (7, sset.n_features)
    assert batch["ldos"].shape == (7, sset.n_energies)


def test_no_temp_files_left(shard_dir):
    leftovers = [p for p in shard_dir.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def test_existing_folder_needs_overwrite(synthetic_dir, tmp_path):
    out = write_shards(synthetic_dir, tmp_path / "s", rows_per_shard=500)
    with pytest.raises(DataError, match="already holds shards"):
        write_shards(synthetic_dir, out, rows_per_shard=500)
    write_shards(synthetic_dir, out, rows_per_shard=ROWS, overwrite=True, output_scaling="standard")
    m = read_manifest(out)  # old 1-shard files are gone, new 3-shard files checked
    assert len(m.files("train")) == 3 * len(m.names("train"))
    assert m.y_scaler.kind == "standard"


def test_explicit_split(synthetic_dir, tmp_path):
    out = write_shards(synthetic_dir, tmp_path / "s", train=["snap0"], validation=["snap1"], test=["snap4"])
    m = read_manifest(out)
    assert (m.names("train"), m.names("validation"), m.names("test")) == (["snap0"], ["snap1"], ["snap4"])
    assert m.x_scaler.count == 216


def _copy(shard_dir, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(shard_dir, dst)
    return dst


def test_missing_manifest(tmp_path):
    with pytest.raises(DataError, match="has no manifest.json"):
        read_manifest(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        read_manifest(tmp_path / "nope")


def test_version_mismatch(shard_dir, tmp_path):
    d = _copy(shard_dir, tmp_path)
    raw = json.loads((d / MANIFEST_NAME).read_text())
    raw["format_version"] = FORMAT_VERSION + 1
    (d / MANIFEST_NAME).write_text(json.dumps(raw))
    with pytest.raises(DataError, match="format version"):
        read_manifest(d)


def test_shard_row_count_mismatch(shard_dir, tmp_path):
    d = _copy(shard_dir, tmp_path)
    f = next((d / "train").glob("*-00000.parquet"))
    pq.write_table(pq.read_table(f).slice(0, 10), f)
    with pytest.raises(DataError, match="holds 10 rows"):
        read_manifest(d)


def test_missing_and_unlisted_shards(shard_dir, tmp_path):
    d = _copy(shard_dir, tmp_path)
    f = next((d / "validation").glob("*.parquet"))
    shutil.copy(f, d / "validation" / "stray.parquet")
    with pytest.raises(DataError, match="not in .*manifest.json"):
        read_manifest(d)
    (d / "validation" / "stray.parquet").unlink()
    f.unlink()
    with pytest.raises(DataError, match="is missing"):
        read_manifest(d)


def test_wrong_tensor_shape(shard_dir, tmp_path):
    d = _copy(shard_dir, tmp_path)
    f = next((d / "test").glob("*-00002.parquet"))
    t = pq.read_table(f)
    x = t["descriptors"].combine_chunks().to_numpy_ndarray()[:, :5]
    t = t.set_column(0, "descriptors", pa.FixedShapeTensorArray.from_numpy_ndarray(np.ascontiguousarray(x)))
    pq.write_table(t, f)
    with pytest.raises(DataError, match="fixed-shape"):
        read_manifest(d)


def test_cli_run(synthetic_dir, tmp_path, capsys):
    from surrogate_hpo.cli.shards import run

    out = run({"source": str(synthetic_dir), "output": str(tmp_path / "cli"), "rows_per_shard": 150,
               "input_scaling": "minmax", "output_scaling": "minmax", "train": None, "validation": None,
               "test": ["snap0"]})
    m = read_manifest(out)
    assert m.names("test") == ["snap0"] and m.x_scaler.kind == "minmax"
    assert "train" in capsys.readouterr().out
    with pytest.raises(DataError, match="source is required"):
        run({"source": "???", "output": str(tmp_path / "x")})


@pytest.mark.parametrize("setting, words", [
    ("rows_per_shard=0", "rows_per_shard=0 must be a whole number >= 1"),
    ("row_group_rows=many", "row_group_rows='many' must be a whole number >= 1"),
    ("compression=lz77", "compression='lz77': choose one of null, snappy, gzip, brotli, lz4, zstd"),
    ("output={tmp}/file.txt/shards", "output={tmp}/file.txt/shards: {tmp}/file.txt is a file, not a folder"),
])
def test_cli_settings_are_checked_before_any_shard_is_written(synthetic_dir, tmp_path, setting, words):
    (tmp_path / "file.txt").write_text("")
    setting, words = setting.format(tmp=tmp_path), words.format(tmp=tmp_path)
    proc = subprocess.run([sys.executable, "-m", "surrogate_hpo.cli.shards", f"source={synthetic_dir}",
                           f"output={tmp_path}/out", setting], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and f"surrogate-hpo-shards: ConfigError: {words}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) in (["file.txt"], ["file.txt", "out"])
    assert not list(tmp_path.rglob("*.parquet"))


def test_cli_config_composes():
    from hydra import compose, initialize_config_dir

    from surrogate_hpo.cli import CONF_DIR

    with initialize_config_dir(config_dir=str(CONF_DIR / "shards"), version_base="1.3"):
        cfg = compose("config", overrides=["source=/tmp/x", "rows_per_shard=10"])
    assert cfg.source == "/tmp/x" and cfg.rows_per_shard == 10 and cfg.train is None


def test_the_shard_writer_refuses_a_split_folder_that_is_a_link(tmp_path, snapshot_dir):
    """Old shards are deleted and new ones written only inside the shard folder."""
    victim = tmp_path / "elsewhere"
    victim.mkdir()
    (victim / "precious.parquet").write_bytes(b"results")
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "train").symlink_to(victim, target_is_directory=True)
    with pytest.raises(DataError, match="holds symbolic links"):
        write_shards(snapshot_dir, tmp_path / "shards", overwrite=True)
    assert (victim / "precious.parquet").read_bytes() == b"results"


def test_the_shard_command_names_its_own_keys_and_the_pasted_fix_works(synthetic_dir, tmp_path):
    """A folder without the energy grid: the hint is this command's key, and pasting it writes the shards."""
    from hydra import compose, initialize_config_dir

    from surrogate_hpo.cli import CONF_DIR
    from surrogate_hpo.cli.shards import run

    src = tmp_path / "src"
    shutil.copytree(synthetic_dir, src)
    for info in src.glob("*.info.json"):
        raw = json.loads(info.read_text())
        del raw["energy_grid"]
        info.write_text(json.dumps(raw))
    base = [f"source={src}", f"output={tmp_path / 'out'}"]
    with initialize_config_dir(config_dir=str(CONF_DIR / "shards"), version_base="1.3"):
        with pytest.raises(DataError, match=r"energy_grid.offset: add energy_grid.offset=<eV>") as err:
            run(compose("config", overrides=base))
        assert "data." not in str(err.value)
        pasted = ["energy_grid.offset=-10", "energy_grid.spacing=0.5"]
        out = run(compose("config", overrides=base + pasted))
    assert read_manifest(out).energy_grid.offset == -10.0


def test_shards_are_not_written_into_the_snapshot_folder(synthetic_dir, tmp_path):
    with pytest.raises(DataError, match=r"inside the snapshot folder .*choose a folder outside it, e.g. output=.*_shards"):
        write_shards(synthetic_dir, synthetic_dir / "shards")
    assert not (synthetic_dir / "shards").exists()
    with pytest.raises(DataError, match=rf"holds MALA snapshots, not shards: .*source={synthetic_dir} "
                                        rf"output={synthetic_dir}_shards, then give data.shards={synthetic_dir}_shards"):
        read_manifest(synthetic_dir)
