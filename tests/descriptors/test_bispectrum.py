"""Bispectrum descriptors on the LDOS grid (LAMMPS compute sna/grid)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import ase
import numpy as np
import pytest

from surrogate_hpo.descriptors.bispectrum import (
    BispectrumSettings,
    compute_bispectrum,
    n_bispectrum_components,
)

ase_build = pytest.importorskip("ase.build")


def _lammps_available() -> bool:
    try:
        from surrogate_hpo.descriptors.lammps_runtime import create_lammps

        create_lammps().close()
        return True
    except Exception:
        return False


needs_lammps = pytest.mark.skipif(not _lammps_available(), reason="LAMMPS python module not usable")


def _al(rattle: float = 0.05, seed: int = 3):
    atoms = ase_build.bulk("Al", "fcc", a=4.05, cubic=True)
    if rattle:
        atoms.rattle(rattle, seed=seed)
        atoms.wrap()
    return atoms


def test_component_count():
    assert n_bispectrum_components(10) == 91  # MALA's Al setting
    assert n_bispectrum_components(6) == 30
    assert n_bispectrum_components(0) == 1


@needs_lammps
def test_shape_dtype_and_coordinates():
    atoms = _al()
    grid = (6, 8, 10)
    d = compute_bispectrum(atoms, grid, rcutfac=4.67637, twojmax=4)
    assert d.shape == (*grid, 3 + n_bispectrum_components(4))
    assert d.dtype == np.float32
    assert np.all(np.isfinite(d))
    i, j, k = 2, 5, 7
    expected = np.array([i / 6, j / 8, k / 10]) @ atoms.cell[:]
    np.testing.assert_allclose(d[i, j, k, :3], expected, atol=1e-5)
    np.testing.assert_allclose(d[0, 0, 0, :3], 0.0, atol=1e-7)


@needs_lammps
def test_twojmax_10_gives_91_descriptors():
    d = compute_bispectrum(_al(), (4, 4, 4), rcutfac=4.67637, twojmax=10)
    assert d.shape == (4, 4, 4, 94)


@needs_lammps
@pytest.mark.parametrize("axis,steps", [(0, 1), (1, 2), (2, 3)])
def test_translation_moves_descriptors_along_the_right_axis(axis, steps):
    """Shifting the atoms by whole grid steps along one axis rolls the descriptors with it."""
    atoms = _al()
    grid = (6, 8, 10)
    d = compute_bispectrum(atoms, grid, rcutfac=4.0, twojmax=4)
    shifted = atoms.copy()
    shift = np.zeros(3)
    shift[axis] = steps * atoms.cell[axis, axis] / grid[axis]
    shifted.positions += shift
    shifted.wrap()
    d2 = compute_bispectrum(shifted, grid, rcutfac=4.0, twojmax=4)
    np.testing.assert_allclose(
        d2[..., 3:], np.roll(d[..., 3:], steps, axis=axis), rtol=1e-4, atol=1e-4
    )
    # and the descriptors do vary over the grid (the test is not vacuous)
    assert np.abs(d[..., 3:] - np.roll(d[..., 3:], 1, axis=axis)).max() > 1e-2


@needs_lammps
def test_non_orthogonal_cell_matches_cubic_cell():
    """fcc primitive (triclinic) cell and cubic cell describe the same crystal."""
    prim = ase_build.bulk("Al", "fcc", a=4.05)
    cubic = ase_build.bulk("Al", "fcc", a=4.05, cubic=True)
    dp = compute_bispectrum(prim, (6, 6, 6), rcutfac=4.67637, twojmax=4)
    dc = compute_bispectrum(cubic, (12, 12, 12), rcutfac=4.67637, twojmax=4)
    step = 4.05 / 12
    for ijk in [(1, 0, 0), (0, 2, 1), (1, 2, 3)]:
        x = np.array(ijk) / 6 @ prim.cell[:]
        np.testing.assert_allclose(dp[ijk][:3], x, atol=1e-5)
        idx = tuple(np.round(x / step).astype(int) % 12)
        np.testing.assert_allclose(dp[ijk][3:], dc[idx][3:], rtol=1e-4, atol=1e-4)


@needs_lammps
def test_settings_object_overrides_arguments():
    s = BispectrumSettings(rcutfac=3.5, twojmax=2)
    d = compute_bispectrum(_al(), (3, 3, 3), settings=s)
    assert d.shape[-1] == 3 + n_bispectrum_components(2)
    assert s.to_dict()["type"] == "bispectrum"
    assert BispectrumSettings.from_dict(s.to_dict()) == s


@pytest.mark.parametrize("twojmax", [-1, 21, 2.5, True])
def test_bad_twojmax(twojmax):
    with pytest.raises(ValueError, match="twojmax"):
        compute_bispectrum(_al(), (4, 4, 4), rcutfac=4.0, twojmax=twojmax)


@pytest.mark.parametrize("rcutfac", [0.0, -1.0, float("nan")])
def test_bad_cutoff(rcutfac):
    with pytest.raises(ValueError, match="rcutfac"):
        compute_bispectrum(_al(), (4, 4, 4), rcutfac=rcutfac, twojmax=4)


def test_cutoff_too_large_for_cell():
    with pytest.raises(ValueError, match="cutoff"):
        compute_bispectrum(_al(), (4, 4, 4), rcutfac=20.0, twojmax=4)


@pytest.mark.parametrize("grid", [(4, 4), (0, 4, 4), (4, 4, 2.5)])
def test_bad_grid(grid):
    with pytest.raises(ValueError, match="grid_shape"):
        compute_bispectrum(_al(), grid, rcutfac=4.0, twojmax=4)


def test_bad_cells_and_species():
    atoms = _al()
    left = atoms.copy()
    left.set_cell(atoms.cell[[1, 0, 2]], scale_atoms=False)
    with pytest.raises(ValueError, match="left-handed"):
        compute_bispectrum(left, (4, 4, 4), rcutfac=4.0, twojmax=4)
    slab = atoms.copy()
    slab.pbc = [True, True, False]
    with pytest.raises(ValueError, match="periodic"):
        compute_bispectrum(slab, (4, 4, 4), rcutfac=4.0, twojmax=4)
    mixed = atoms.copy()
    mixed.symbols[0] = "Cu"
    with pytest.raises(ValueError, match=r"holds \['Cu'\], the descriptor settings only \['Al', 'Mg'\]"):
        compute_bispectrum(mixed, (4, 4, 4), settings=BispectrumSettings(rcutfac=4.0, twojmax=4, species=("Mg", "Al")))


MALA_AL3MG = Path(__file__).parent / "fixtures" / "mala_al3mg.npz"


def _mala_al3mg():
    f = np.load(MALA_AL3MG)
    atoms = ase.Atoms(symbols=list(f["symbols"]), positions=f["positions"], cell=f["cell"], pbc=True)
    settings = BispectrumSettings(rcutfac=float(f["rcutfac"]), twojmax=int(f["twojmax"]),
                                  element_weights=dict(zip(f["weights_species"].tolist(), f["weights"].tolist())))
    return f, atoms, settings


@needs_lammps
def test_two_elements_equal_what_mala_computes():
    """Al3Mg, weights Al 1.0 / Mg 0.8: MALA 1.4.0's descriptors (fixtures/make_mala_two_element.py)."""
    f, atoms, settings = _mala_al3mg()
    ours = compute_bispectrum(atoms, tuple(f["grid"]), settings=settings, dtype=np.float64)
    np.testing.assert_allclose(ours, f["descriptors"], rtol=1e-12, atol=1e-12)


@needs_lammps
def test_element_weights_and_types_follow_the_species_not_the_atom_order():
    f, atoms, settings = _mala_al3mg()
    grid = (4, 4, 4)
    base = compute_bispectrum(atoms, grid, settings=settings, dtype=np.float64)
    # atoms listed in another order: the same descriptors (types are alphabetical, not by first seen)
    order = [2, 0, 3, 1]
    shuffled = compute_bispectrum(atoms[order], grid, settings=settings, dtype=np.float64)
    np.testing.assert_allclose(shuffled, base, rtol=1e-12, atol=1e-12)
    # Mg's weight matters for a structure with Mg ...
    heavier = dataclasses.replace(settings, element_weights={"Al": 1.0, "Mg": 1.5})
    assert np.abs(compute_bispectrum(atoms, grid, settings=heavier, dtype=np.float64) - base)[..., 3:].max() > 1e-3
    # ... and not for one without: pure Al with the Al3Mg settings is plain single-element Al
    al = atoms.copy()
    al.symbols[:] = "Al"
    two_types = compute_bispectrum(al, grid, settings=dataclasses.replace(settings, species=("Al", "Mg")),
                                   dtype=np.float64)
    one_type = compute_bispectrum(al, grid, settings=BispectrumSettings(rcutfac=settings.rcutfac, twojmax=4),
                                  dtype=np.float64)
    np.testing.assert_allclose(two_types, one_type, rtol=1e-12, atol=1e-12)


def test_settings_round_trip_through_a_plain_dict():
    s = BispectrumSettings(species=("Mg", "Al"), element_weights={"Mg": 0.8}, element_radii={"Al": 0.45})
    d = s.to_dict()
    assert d["species"] == ["Al", "Mg"] and d["element_weights"] == {"Mg": 0.8}
    back = BispectrumSettings.from_dict(json.loads(json.dumps(d)))
    assert back == s and hash(back) == hash(s)
    assert back.weight_of("Mg") == 0.8 and back.weight_of("Al") == 1.0 and back.radius_of("Al") == 0.45


@needs_lammps
@pytest.mark.parametrize("planes", [(0, 5), (4, 11), (26, 30), (0, 30)])
def test_a_slab_of_planes_equals_those_planes_of_the_whole_grid(planes):
    """Bounded along z, padded by the cutoff, with the atoms' periodic images: no neighbour lost."""
    atoms = _al(rattle=0.1).repeat((2, 2, 2))
    cell = atoms.cell[:].copy()
    cell[1, 0] = 1.2  # b tilted in the a-b plane: still a slab geometry
    atoms.set_cell(cell, scale_atoms=True)
    settings = BispectrumSettings(rcutfac=4.0, twojmax=4)
    full = compute_bispectrum(atoms, (9, 10, 30), settings=settings, dtype=np.float64)
    slab = compute_bispectrum(atoms, (9, 10, 30), settings=settings, dtype=np.float64, planes=planes)
    np.testing.assert_allclose(slab, full[:, :, planes[0]:planes[1]], rtol=1e-10, atol=1e-10)


def test_slabs_are_refused_for_a_tilted_third_vector_and_sized_by_memory():
    from surrogate_hpo.descriptors.bispectrum import slab_planes

    atoms = _al()
    cell = atoms.cell[:].copy()
    cell[2, 0] = 0.5
    atoms.set_cell(cell, scale_atoms=True)
    with pytest.raises(ValueError, match="perpendicular"):
        compute_bispectrum(atoms, (4, 4, 8), rcutfac=4.0, twojmax=4, planes=(0, 2))
    assert slab_planes((200, 200, 200), 10, 2.0) == 2 * 2**30 // (200 * 200 * 94 * 8)
    assert slab_planes((24, 24, 24), 10, 2.0) == 24
