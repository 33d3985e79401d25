"""Scaler: streamed statistics equal numpy's, round trips, train-only fitting, persistence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mala_synth import write_snapshot

from surrogate_hpo.data import SCALER_KINDS, DataError, Scaler, SnapshotSet, fit_scalers


def concat_train(ss, attr):
    return np.concatenate([getattr(s, attr).reshape(-1, getattr(s, attr).shape[-1]) for s in ss.train]
                          ).astype(np.float64)


def expected(kind, data):
    if kind == "standard":
        return (data - data.mean()) / data.std()
    if kind == "minmax":
        return (data - data.min()) / (data.max() - data.min())
    if kind == "feature-wise-standard":
        return (data - data.mean(axis=0)) / data.std(axis=0)
    if kind == "feature-wise-minmax":
        return (data - data.min(axis=0)) / (data.max(axis=0) - data.min(axis=0))
    return data


@pytest.mark.parametrize("kind", SCALER_KINDS)
def test_fit_equals_numpy_on_concatenated_train(snapshot_dir, kind):
    ss = SnapshotSet.from_directory(snapshot_dir)
    x_scaler, y_scaler = fit_scalers(ss, kind, kind)
    for scaler, attr in ((x_scaler, "descriptors"), (y_scaler, "ldos")):
        data = concat_train(ss, attr)
        got = scaler.transform(data)
        np.testing.assert_allclose(got, expected(kind, data), rtol=1e-10, atol=1e-10)


def test_streaming_in_tiny_chunks_matches_one_pass():
    rng = np.random.default_rng(1)
    a = rng.normal(3.0, 2.0, size=(37, 5, 4)).astype(np.float32)
    one = Scaler("feature-wise-standard").fit(a)
    tiny = Scaler("feature-wise-standard")
    tiny.partial_fit(a[:10], chunk_bytes=1)
    tiny.partial_fit(a[10:], chunk_bytes=100)
    np.testing.assert_allclose(tiny.mean, one.mean, rtol=1e-12)
    np.testing.assert_allclose(tiny.m2, one.m2, rtol=1e-10)
    flat = a.reshape(-1, 4).astype(np.float64)
    np.testing.assert_allclose(one.shift_scale[1], flat.std(axis=0), rtol=1e-12)


def test_float64_accumulation_is_accurate():
    # large offset, small spread: naive float32 sums would lose the std
    a = (1e4 + np.random.default_rng(2).normal(0, 1e-2, size=(200000, 1))).astype(np.float32)
    s = Scaler("standard").fit(a)
    ref = a.astype(np.float64)
    assert s.shift_scale[1][0] == pytest.approx(ref.std(), rel=1e-6)


@pytest.mark.parametrize("kind", SCALER_KINDS)
def test_inverse_round_trip_numpy_and_torch(kind):
    a = np.random.default_rng(3).normal(2.0, 5.0, size=(4, 3, 2, 6)).astype(np.float32)
    s = Scaler(kind).fit(a)
    back = s.inverse_transform(s.transform(a))
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, a, rtol=1e-5, atol=1e-5)
    t = torch.from_numpy(a.reshape(-1, 6)).double()
    tt = s.transform(t)
    assert isinstance(tt, torch.Tensor) and tt.dtype == torch.float64
    np.testing.assert_allclose(tt.numpy(), s.transform(a.reshape(-1, 6).astype(np.float64)), rtol=1e-12)
    torch.testing.assert_close(s.inverse_transform(tt), t)


def test_fitted_on_train_only(snapshot_dir):
    before = fit_scalers(SnapshotSet.from_directory(snapshot_dir), "feature-wise-standard", "minmax")
    # replace validation and test snapshots with wildly different data
    write_snapshot(snapshot_dir, "snap3", seed=99, scale=1000.0)
    write_snapshot(snapshot_dir, "snap4", seed=98, scale=-50.0)
    after = fit_scalers(SnapshotSet.from_directory(snapshot_dir), "feature-wise-standard", "minmax")
    assert before[0] == after[0] and before[1] == after[1]
    # ... while changing a training snapshot does change them
    write_snapshot(snapshot_dir, "snap1", seed=97, scale=3.0)
    changed = fit_scalers(SnapshotSet.from_directory(snapshot_dir), "feature-wise-standard", "minmax")
    assert changed[0] != before[0] and changed[1] != before[1]


def test_zero_std_and_zero_range_are_guarded():
    a = np.ones((10, 3), dtype=np.float32) * np.array([1.0, 5.0, -2.0], dtype=np.float32)
    a[:, 2] = np.arange(10)
    for kind in ("feature-wise-standard", "feature-wise-minmax"):
        out = Scaler(kind).fit(a).transform(a)
        assert np.all(np.isfinite(out))
        np.testing.assert_array_equal(out[:, :2], 0.0)
    const = np.full((5, 2), 7.0)
    for kind in ("standard", "minmax"):
        s = Scaler(kind).fit(const)
        np.testing.assert_array_equal(s.transform(const), 0.0)
        np.testing.assert_array_equal(s.inverse_transform(s.transform(const)), const)


@pytest.mark.parametrize("kind", SCALER_KINDS)
def test_save_load_round_trip(tmp_path, kind):
    a = np.random.default_rng(4).uniform(-1, 3, size=(50, 4))
    s = Scaler(kind).fit(a)
    s.save(tmp_path / "scaler.json")
    r = Scaler.load(tmp_path / "scaler.json")
    assert r == s and r.kind == kind
    np.testing.assert_array_equal(r.transform(a), s.transform(a))
    assert Scaler.from_dict(s.to_dict()).to_dict() == s.to_dict()


def test_errors():
    with pytest.raises(DataError, match="unknown scaler kind 'zscore'"):
        Scaler("zscore")
    assert Scaler("feature_wise_standard").kind == "feature-wise-standard"
    with pytest.raises(DataError, match="before fit"):
        Scaler("standard").transform(np.zeros((2, 2)))
    s = Scaler("feature-wise-minmax").fit(np.random.default_rng(0).random((5, 3)))
    with pytest.raises(DataError, match="3 columns"):
        s.transform(np.zeros((2, 4)))
    with pytest.raises(DataError, match="NaN"):
        Scaler("standard").fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(DataError, match="not a saved scaler"):
        Scaler.load(__file__)
