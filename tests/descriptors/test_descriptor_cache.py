"""Bispectrum cache: hit without LAMMPS, miss on any change of settings or structure."""

from __future__ import annotations

import numpy as np
import pytest

from surrogate_hpo.descriptors import bispectrum
from surrogate_hpo.descriptors.cache import cached_bispectrum

ase_build = pytest.importorskip("ase.build")


@pytest.fixture
def spy(monkeypatch):
    """compute_bispectrum replaced by a cheap fake that counts its calls."""
    calls = []

    def fake(atoms, grid_shape, *, settings, dtype=np.float32, **kw):
        calls.append((settings.rcutfac, settings.twojmax))
        n = bispectrum.n_bispectrum_components(settings.twojmax)
        base = float(np.sum(atoms.get_positions())) + settings.rcutfac
        return np.full((*grid_shape, 3 + n), base, dtype=dtype)

    monkeypatch.setattr(bispectrum, "compute_bispectrum", fake)
    return calls


def _al():
    atoms = ase_build.bulk("Al", "fcc", a=4.05, cubic=True)
    atoms.rattle(0.05, seed=1)
    return atoms


def test_hit_does_not_recompute(tmp_path, spy):
    atoms = _al()
    a = cached_bispectrum(atoms, (2, 3, 4), rcutfac=4.0, twojmax=2, cache_dir=tmp_path)
    b = cached_bispectrum(atoms.copy(), (2, 3, 4), rcutfac=4.0, twojmax=2, cache_dir=tmp_path)
    assert len(spy) == 1
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 3, 4, 3 + 5) and a.dtype == np.float32
    assert len(list(tmp_path.glob("*.npy"))) == 1
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_a_cached_file_of_the_wrong_shape_or_type_is_recomputed(tmp_path, spy):
    atoms = _al()
    good = cached_bispectrum(atoms, (2, 3, 4), rcutfac=4.0, twojmax=2, cache_dir=tmp_path)
    (path,) = tmp_path.glob("*.npy")
    for planted in (np.zeros((2, 3), np.float32), good.astype(np.float64), np.array(["x"])):
        np.save(path, planted)  # truncated, rewritten or planted by someone with write access
        again = cached_bispectrum(atoms, (2, 3, 4), rcutfac=4.0, twojmax=2, cache_dir=tmp_path)
        np.testing.assert_array_equal(again, good)
        assert again.dtype == np.float32
    assert len(spy) == 4


def test_miss_on_changed_settings_positions_grid(tmp_path, spy):
    atoms = _al()
    cached_bispectrum(atoms, (2, 2, 2), rcutfac=4.0, twojmax=2, cache_dir=tmp_path)
    cached_bispectrum(atoms, (2, 2, 2), rcutfac=4.5, twojmax=2, cache_dir=tmp_path)
    cached_bispectrum(atoms, (2, 2, 2), rcutfac=4.0, twojmax=4, cache_dir=tmp_path)
    cached_bispectrum(atoms, (2, 2, 3), rcutfac=4.0, twojmax=2, cache_dir=tmp_path)
    moved = atoms.copy()
    moved.positions[0, 0] += 1e-9
    out = cached_bispectrum(moved, (2, 2, 2), rcutfac=4.0, twojmax=2, cache_dir=tmp_path)
    assert len(spy) == 5
    assert out[0, 0, 0, 0] == np.float32(np.sum(moved.get_positions()) + 4.0)
    stretched = atoms.copy()
    stretched.set_cell(stretched.cell * 1.01, scale_atoms=False)
    cached_bispectrum(stretched, (2, 2, 2), rcutfac=4.0, twojmax=2, cache_dir=tmp_path)
    assert len(spy) == 6
    # the first one is still a hit
    cached_bispectrum(atoms, (2, 2, 2), rcutfac=4.0, twojmax=2, cache_dir=tmp_path)
    assert len(spy) == 6


def test_real_lammps_round_trip(tmp_path):
    try:
        from surrogate_hpo.descriptors.lammps_runtime import create_lammps

        create_lammps().close()
    except Exception:
        pytest.skip("LAMMPS not usable")
    atoms = _al()
    a = cached_bispectrum(atoms, (4, 4, 4), rcutfac=3.0, twojmax=2, cache_dir=tmp_path)
    direct = bispectrum.compute_bispectrum(atoms, (4, 4, 4), rcutfac=3.0, twojmax=2)
    np.testing.assert_array_equal(a, direct)
    np.testing.assert_array_equal(cached_bispectrum(atoms, (4, 4, 4), rcutfac=3.0, twojmax=2, cache_dir=tmp_path), a)
