"""A two-element data folder (Al3Mg, ``fixtures/almg_folder``, made by
``surrogate-hpo-generate --config-name=almg``; see ``make_almg_fixture.py``): read, checked,
ACSD with per-element weights, and a NASWOT study, with a real local Ray."""

from __future__ import annotations

import json
from pathlib import Path

import ase
import numpy as np
import pytest
from composed_config import compose_config

from surrogate_hpo.data import SnapshotSet
from surrogate_hpo.descriptors.bispectrum import BispectrumSettings, compute_bispectrum
from surrogate_hpo.experiment import run_study

FIXTURE = Path(__file__).parent / "fixtures" / "almg_folder"


def test_the_two_element_folder_reads_with_its_species_and_valence_charges():
    sset = SnapshotSet.from_directory(FIXTURE)
    assert len(sset.all) == 3
    for s in sset.all:
        assert sorted(set(s.atoms.get_chemical_symbols())) == ["Al", "Mg"]
        assert s.valence_charges == {"Al": 3.0, "Mg": 2.0} and s.n_electrons == 11.0
        # the stored descriptors are the weighted two-element ones of the sidecar's settings
        settings = BispectrumSettings.from_dict(s.info["descriptors"])
        assert settings.weight_of("Mg") == 0.8
    s = sset.all[0]
    again = compute_bispectrum(s.atoms, s.grid_shape, settings=settings)
    np.testing.assert_array_equal(again[..., 3:], np.asarray(s.descriptors))


def test_acsd_and_naswot_run_on_two_elements(ray_local, tmp_path):
    acsd = compose_config(["method=acsd", "data=mala_dir", f"data.path={FIXTURE}", f"output_root={tmp_path}",
                           "method.rcutfac=[3.0,4.0]", "method.twojmax=[2,4]", "method.n_points=40",
                           "method.n_snapshots=1", "method.element_weights={Al:1.0,Mg:0.5}",
                           "method.write_dataset=true", f"method.cache_dir={tmp_path / 'cache'}"])
    run_dir = tmp_path / "acsd"
    summary = run_study(acsd, run_dir)
    chosen = json.loads((run_dir / "acsd_chosen.json").read_text())["descriptors"]
    assert chosen["species"] == ["Al", "Mg"] and chosen["element_weights"] == {"Al": 1.0, "Mg": 0.5}
    assert summary["descriptors"]["twojmax"] in (2, 4)
    # the written dataset holds the weighted two-element descriptors of the chosen setting
    info = json.loads((run_dir / "dataset" / "Al3Mg_001.info.json").read_text())
    atoms = ase.Atoms(info["atoms"]["symbols"], positions=info["atoms"]["positions"], cell=info["atoms"]["cell"],
                      pbc=True)
    written = np.load(run_dir / "dataset" / "Al3Mg_001.in.npy")
    expected = compute_bispectrum(atoms, written.shape[:3], settings=BispectrumSettings.from_dict(chosen))
    np.testing.assert_array_equal(written, expected)
    unweighted = compute_bispectrum(atoms, written.shape[:3], settings=BispectrumSettings(
        rcutfac=chosen["rcutfac"], twojmax=chosen["twojmax"]))
    assert np.abs(unweighted[..., 3:] - written[..., 3:]).max() > 1e-3  # the weights were used

    naswot = compose_config(["budget=quick", "data=mala_dir", f"data.path={FIXTURE}", f"output_root={tmp_path}",
                             "final_evaluation.seeds=1", "training.max_epochs=2"])
    summary = run_study(naswot, tmp_path / "naswot")
    fe = summary["final_evaluation"]
    assert fe["test_band_energy_mae_mev_per_atom"]["n"] == 1
    assert fe["test_total_free_energy_mae_mev_per_atom"]["mean"] > 0  # valence charges of both species known
    assert summary["chosen"]["n_in"] == 14  # twojmax 4


def test_a_weight_for_an_element_the_data_lacks_is_refused_before_compute(tmp_path):
    from surrogate_hpo.errors import ConfigError

    cfg = compose_config(["method=acsd", "data=mala_dir", f"data.path={FIXTURE}", f"output_root={tmp_path}",
                          "method.n_snapshots=1", "method.element_weights={Al:1.0,Cu:0.5}"])
    with pytest.raises(ConfigError, match=r"element_weights/element_radii name \['Cu'\]; the snapshots hold"):
        run_study(cfg, tmp_path / "run")
