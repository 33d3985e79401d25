"""Batch factories: Ray Data from shards, memmap, in memory (real Ray via ``ray_local``)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from surrogate_hpo.data import (
    SnapshotSet,
    in_memory_batches,
    memmap_batches,
    ray_data_batches,
    read_manifest,
    write_shards,
)


@pytest.fixture(scope="module")
def sset(synthetic_dir):
    return SnapshotSet.from_directory(synthetic_dir)


@pytest.fixture(scope="module")
def shard_dir(synthetic_dir, tmp_path_factory):
    return write_shards(synthetic_dir, tmp_path_factory.mktemp("stream") / "shards", rows_per_shard=100)


@pytest.fixture(scope="module")
def expected(sset, shard_dir):
    """Scaled training rows (the in-memory path), sorted by their first column."""
    m = read_manifest(shard_dir)
    x = np.concatenate([np.asarray(s.descriptors).reshape(-1, sset.n_features) for s in sset.train])
    y = np.concatenate([np.asarray(s.ldos).reshape(-1, sset.n_energies) for s in sset.train])
    xs = np.asarray(m.x_scaler.transform(x), dtype=np.float32)
    ys = np.asarray(m.y_scaler.transform(y), dtype=np.float32)
    order = np.argsort(xs[:, 0])
    return xs[order], ys[order]


def _collect(batches):
    xs, ys = [], []
    for xb, yb in batches:
        assert isinstance(xb, torch.Tensor) and xb.dtype == torch.float32 and yb.dtype == torch.float32
        xs.append(xb.numpy())
        ys.append(yb.numpy())
    return np.concatenate(xs), np.concatenate(ys), [len(b) for b in xs]


def _sorted(x, y):
    order = np.argsort(x[:, 0])
    return x[order], y[order]


@pytest.mark.parametrize("reader,window", [("tasks", 128), ("tasks", None), ("parquet", None)])
def test_ray_every_row_once_scaled(ray_local, shard_dir, expected, reader, window):
    factory = ray_data_batches(shard_dir, batch_size=64, shuffle_buffer=window, seed=3, reader=reader)
    x, y, sizes = _collect(factory(0))
    assert len(x) == len(expected[0]) == len(factory)
    assert sizes[:-1] == [64] * (len(sizes) - 1)
    xs, ys = _sorted(x, y)
    np.testing.assert_array_equal(xs, expected[0])  # same rows, scaled bit-identically
    np.testing.assert_array_equal(ys, expected[1])
    assert len(np.unique(x[:, 0])) == len(x)  # no duplicates


def test_ray_order_per_epoch_and_seed(ray_local, shard_dir):
    f3 = ray_data_batches(shard_dir, batch_size=50, shuffle_buffer=100, seed=3)
    e0, e1 = _collect(f3(0))[0], _collect(f3(1))[0]
    assert not np.array_equal(e0, e1)  # a new order each epoch
    again = _collect(ray_data_batches(shard_dir, batch_size=50, shuffle_buffer=100, seed=3)(0))[0]
    np.testing.assert_array_equal(e0, again)  # repeatable with a seed (preserve_order)
    other = _collect(ray_data_batches(shard_dir, batch_size=50, shuffle_buffer=100, seed=4)(0))[0]
    assert not np.array_equal(e0, other)
    # shuffle within a window only: no window, no shard shuffle -> file order
    plain = _collect(ray_data_batches(shard_dir, batch_size=50, shuffle=False, seed=0)(0))[0]
    m = read_manifest(shard_dir)
    first = np.asarray(m.x_scaler.transform(
        np.asarray(SnapshotSet.from_directory(m.raw["source"]).train[0].descriptors).reshape(-1, m.n_features)),
        dtype=np.float32)
    np.testing.assert_array_equal(plain[:len(first)], first)


def test_ray_unscaled_option(ray_local, shard_dir, sset):
    x, y, _ = _collect(ray_data_batches(shard_dir, batch_size=1000, shuffle=False, x_scaler=None,
                                        y_scaler=None)(0))
    np.testing.assert_array_equal(x[:216], np.asarray(sset.train[0].descriptors).reshape(216, -1))


@pytest.mark.parametrize("make", [memmap_batches, in_memory_batches])
def test_memmap_and_memory_match(sset, shard_dir, expected, make):
    m = read_manifest(shard_dir)
    factory = make(sset, batch_size=64, shuffle_buffer=100, seed=3, device="cpu",
                   x_scaler=m.x_scaler, y_scaler=m.y_scaler)
    x, y, sizes = _collect(factory(0))
    xs, ys = _sorted(x, y)
    np.testing.assert_allclose(xs, expected[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ys, expected[1], rtol=1e-6, atol=1e-6)
    again = _collect(factory(0))[0]
    np.testing.assert_array_equal(x, again)
    assert not np.array_equal(x, _collect(factory(1))[0])


def test_tune_trials_holding_every_cpu_can_stream(ray_local, shard_dir, tmp_path):
    """Two 1-CPU trials on the 2-CPU Ray: no CPU is free, yet Ray Data must not deadlock."""
    from ray import tune

    n_train = read_manifest(shard_dir).n_rows("train")
    path = str(shard_dir)

    def trainable(config):
        import ray as _ray

        deadline = time.time() + 30
        while _ray.available_resources().get("CPU", 0.0) > 0.5 and time.time() < deadline:
            time.sleep(0.2)  # wait until the other trial holds the other CPU
        saturated = _ray.available_resources().get("CPU", 0.0) < 0.5
        out: dict = {}

        def consume():
            out["rows"] = sum(len(xb) for xb, _ in
                              ray_data_batches(path, batch_size=64, shuffle_buffer=64, seed=config["seed"])(0))

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        t.join(timeout=60)
        tune.report({"rows": out.get("rows", -1), "finished": not t.is_alive(), "saturated": saturated})

    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": 1}),
        param_space={"seed": tune.grid_search([0, 1])},
        tune_config=tune.TuneConfig(max_concurrent_trials=2, reuse_actors=False),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="stream", verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    for r in results:
        assert r.metrics["finished"], "Ray Data hung inside a trial"
        assert r.metrics["rows"] == n_train
    assert any(r.metrics["saturated"] for r in results)


@pytest.mark.parametrize("sizes,bs,drop_last", [([100, 100, 16], 64, False), ([5, 3, 70, 1], 8, True),
                                                ([10], 32, False), ([64, 64], 64, False)])
def test_rebatch(sizes, bs, drop_last):
    from surrogate_hpo.data.streaming import _rebatch

    total = sum(sizes)
    x = torch.arange(total, dtype=torch.float32)[:, None]
    blocks, start = [], 0
    for n in sizes:
        blocks.append((x[start:start + n], x[start:start + n] * 2))
        start += n
    out = list(_rebatch(iter(blocks), bs, drop_last))
    got = torch.cat([b[0] for b in out])[:, 0]
    want = total - total % bs if drop_last else total
    assert torch.equal(got, torch.arange(want, dtype=torch.float32))
    assert all(len(b[0]) == bs for b in out[:-1]) and (not drop_last or len(out[-1][0]) == bs)
    assert all(torch.equal(b[1], 2 * b[0]) for b in out)


@pytest.mark.parametrize("sizes,k,bs,drop_last", [([100, 100, 100, 100, 16], 2, 64, False),
                                                  ([50, 30, 70, 1], 3, 8, True), ([10], 4, 32, False)])
def test_interleave_mixes_blocks_and_yields_every_row_once(sizes, k, bs, drop_last):
    from surrogate_hpo.data.streaming import _interleave

    total = sum(sizes)
    x = torch.arange(total, dtype=torch.float32)[:, None]
    owner = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    blocks, start = [], 0
    for n in sizes:
        blocks.append((x[start:start + n], x[start:start + n] * 2))
        start += n
    out = list(_interleave(iter(blocks), k, bs, drop_last, seed=7))
    rows = torch.cat([b[0] for b in out])[:, 0].long()
    assert len(set(rows.tolist())) == len(rows)  # no row twice
    if drop_last:
        assert all(len(b[0]) == bs for b in out) and total - len(rows) < bs
    else:
        assert sorted(rows.tolist()) == list(range(total))
    assert all(torch.equal(b[1], 2 * b[0]) for b in out)  # x and y stay paired
    if len(sizes) >= k > 1:  # the first batch draws from every block of the first window
        assert len(set(owner[out[0][0][:, 0].long()].tolist())) == k
    again = list(_interleave(iter(blocks), k, bs, drop_last, seed=7))
    assert all(torch.equal(a[0], b[0]) for a, b in zip(out, again))  # seeded: the same order
