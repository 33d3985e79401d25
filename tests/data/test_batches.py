"""Rows and batches: every row once per epoch, seed-deterministic, in memory or streamed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from surrogate_hpo.data import (
    ArrayDataset,
    DataError,
    SnapshotSet,
    fit_scalers,
    flatten_grid,
    iterate_batches,
    load_snapshot,
    snapshot_rows,
)


def row_ids(n, width=3):
    """Rows whose first column is their index, so batches can be traced back."""
    x = np.zeros((n, width), dtype=np.float32)
    x[:, 0] = np.arange(n)
    return x, x[:, :1] * 2


def test_flatten_is_a_view_of_the_memmap(snapshot_dir):
    s = load_snapshot(snapshot_dir / "snap1")
    x, y = snapshot_rows(s)
    assert x.shape == (60, 6) and y.shape == (60, 7)
    assert np.shares_memory(x, s.descriptors) and np.shares_memory(y, s.ldos)
    np.testing.assert_array_equal(x[5 * 3 + 2], s.descriptors[1, 0, 2])  # C order: z fastest
    assert flatten_grid(np.zeros((2, 2, 2, 4))).shape == (8, 4)


@pytest.mark.parametrize("batch_size", [1, 7, 10, 64])
def test_iterate_batches_covers_every_row_once(batch_size):
    x, y = row_ids(50)
    seen = []
    for xb, yb in iterate_batches(x, y, batch_size, shuffle=True, seed=5):
        assert isinstance(xb, torch.Tensor) and xb.shape[0] <= batch_size
        torch.testing.assert_close(yb[:, 0], xb[:, 0] * 2)  # rows stay paired
        seen.extend(xb[:, 0].int().tolist())
    assert sorted(seen) == list(range(50))


def test_iterate_batches_seed_determinism():
    x, y = row_ids(40)
    order = lambda seed: torch.cat([b[0][:, 0] for b in iterate_batches(x, y, 8, shuffle=True, seed=seed)])  # noqa: E731
    torch.testing.assert_close(order(1), order(1))
    assert not torch.equal(order(1), order(2))
    plain = torch.cat([b[0][:, 0] for b in iterate_batches(x, y, 8, shuffle=False)])
    torch.testing.assert_close(plain, torch.arange(40, dtype=torch.float32))


def test_drop_last_and_torch_inputs():
    x, y = row_ids(23)
    sizes = [len(b[0]) for b in iterate_batches(torch.from_numpy(x), torch.from_numpy(y), 5,
                                                  shuffle=True, seed=0, drop_last=True)]
    assert sizes == [5, 5, 5, 5]
    with pytest.raises(DataError, match="rows"):
        next(iterate_batches(x, y[:3], 4, shuffle=False))


def _collect(ds, **kw):
    xs, ys = zip(*ds.batches(**kw))
    return torch.cat(xs), torch.cat(ys)


@pytest.mark.parametrize("in_memory", [True, False])
def test_dataset_epoch_covers_scaled_rows(snapshot_dir, in_memory):
    ss = SnapshotSet.from_directory(snapshot_dir)
    xs, ys = fit_scalers(ss, "feature-wise-standard", "minmax")
    ds = ArrayDataset(ss.train, xs, ys, max_in_memory_bytes=10**9 if in_memory else 0, chunk_rows=13)
    assert ds.in_memory is in_memory and len(ds) == 120
    want_x = np.concatenate([xs.transform(snapshot_rows(s)[0].astype(np.float32)) for s in ss.train])
    want_y = np.concatenate([ys.transform(snapshot_rows(s)[1].astype(np.float32)) for s in ss.train])
    gx, gy = _collect(ds, batch_size=16, shuffle=True, seed=3, epoch=0)
    assert gx.dtype == torch.float32 and gx.shape == (120, 6) and gy.shape == (120, 7)
    # same multiset of (x, y) rows: sort both by a row key
    key = lambda a: np.lexsort(a.T[::-1])  # noqa: E731
    got = np.concatenate([gx.numpy(), gy.numpy()], axis=1)
    want = np.concatenate([want_x, want_y], axis=1).astype(np.float32)
    np.testing.assert_allclose(got[key(got)], want[key(want)], rtol=1e-6, atol=1e-6)
    assert not np.allclose(gx.numpy(), want_x, atol=1e-6)  # actually shuffled
    sizes = [len(b[0]) for b in ds.batches(16, shuffle=True, seed=3)]
    assert sizes == [16] * 7 + [8] and ds.n_batches(16) == 8


@pytest.mark.parametrize("in_memory", [True, False])
def test_dataset_determinism(snapshot_dir, in_memory):
    ss = SnapshotSet.from_directory(snapshot_dir)
    ds = ArrayDataset(ss.train, max_in_memory_bytes=10**9 if in_memory else 0, chunk_rows=13)
    a = _collect(ds, batch_size=16, seed=1, epoch=0)[0]
    b = _collect(ds, batch_size=16, seed=1, epoch=0)[0]
    c = _collect(ds, batch_size=16, seed=1, epoch=1)[0]
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, c)
    unshuffled = _collect(ds, batch_size=16, shuffle=False)[0].numpy()
    np.testing.assert_array_equal(unshuffled, np.concatenate([snapshot_rows(s)[0] for s in ss.train]))


def test_tensors_only_in_memory(snapshot_dir):
    ss = SnapshotSet.from_directory(snapshot_dir)
    x, y = ArrayDataset(ss.train).tensors()
    assert x.shape == (120, 6) and y.shape == (120, 7)
    with pytest.raises(DataError, match="streamed"):
        ArrayDataset(ss.train, max_in_memory_bytes=0).tensors()
