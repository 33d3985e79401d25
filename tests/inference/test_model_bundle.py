"""The model bundle of a real study on the bundled data, used as a user would: load_model,
surrogate-hpo-predict on a test snapshot, the ASE calculator, and bad bundles refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from composed_config import compose_config

import surrogate_hpo
from surrogate_hpo.data.bundled import sample_directory
from surrogate_hpo.data.snapshot import load_snapshot
from surrogate_hpo.experiment import run_study
from surrogate_hpo.inference import (
    BundleError,
    StructureInput,
    load_model,
    predict_structure,
)
from surrogate_hpo.inference.prediction import read_structure
from surrogate_hpo.model import load_checkpoint

MALA_FOLDER = Path(__file__).parents[1] / "data" / "fixtures" / "mala_folder"


@pytest.fixture(scope="module")
def study(ray_local, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle_study")
    cfg = compose_config(["budget=quick", f"output_root={out}", "final_evaluation.seeds=3", "training.max_epochs=3"])
    run_dir = out / "run"
    summary = run_study(cfg, run_dir)
    return run_dir, summary


def _predict_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "surrogate_hpo.cli.predict", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env={**os.environ})


def test_the_saved_model_is_the_seed_of_lowest_validation_error(study):
    run_dir, summary = study
    final = pd.read_parquet(run_dir / "final_trials.parquet")
    best = final.loc[final["val_band_energy_mae_mev_per_atom"].idxmin()]
    meta = json.loads((run_dir / "model" / "bundle.json").read_text())
    assert meta["seed"] == int(best["seed"]) == summary["final_evaluation"]["saved_seed"]
    assert meta["errors"]["val_band_energy_mae_mev_per_atom"] == pytest.approx(best["val_band_energy_mae_mev_per_atom"])
    assert meta["species"] == ["Al"] and meta["valence_charges"] == {"Al": 3.0}
    assert meta["descriptors"]["twojmax"] == 10 and meta["descriptors"]["species"] == ["Al"]
    assert meta["training_data"]["test"] == ["Al_298K_009"]


def test_the_bundle_round_trips_to_the_trained_network(study):
    run_dir, _ = study
    model = load_model(run_dir / "model")
    snap = load_snapshot(sample_directory() / "Al_298K_009")
    x = np.asarray(snap.descriptors, dtype=np.float32)
    ours = model.predict_ldos(x, batch_points=1000)
    # the same weights through the study's own checkpoint and scalers
    ck = load_checkpoint(run_dir / "model" / "model.pt")
    assert model.architecture == ck.architecture
    from surrogate_hpo.data.scalers import Scaler

    xs = Scaler.from_dict(ck.extra["x_scaler"]).transform(x.reshape(-1, model.n_in))
    import torch

    with torch.no_grad():
        raw = ck.network(torch.as_tensor(np.asarray(xs, dtype=np.float32))).numpy()
    direct = Scaler.from_dict(ck.extra["y_scaler"]).inverse_transform(raw)
    np.testing.assert_allclose(ours.reshape(-1, model.n_out), direct, rtol=1e-5, atol=1e-7)
    # a file of the bundle names its folder (a user may point at model/model.pt)
    assert load_model(run_dir / "model" / "model.pt").architecture == model.architecture


def test_predict_reproduces_the_study_error_and_the_calculator_agrees(study, tmp_path):
    run_dir, _ = study
    meta = json.loads((run_dir / "model" / "bundle.json").read_text())
    snapshot = sample_directory() / "Al_298K_009"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "ldos.npy").symlink_to(victim)  # planted: replaced, not written through
    proc = _predict_cli(f"model={run_dir / 'model'}", f"structure={snapshot}", f"output_dir={tmp_path / 'p'}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert victim.read_text() == "keep me" and not (tmp_path / "p" / "ldos.npy").is_symlink()
    assert "vs DFT          band energy" in proc.stdout
    result = json.loads((tmp_path / "p" / "prediction.json").read_text())
    (study_error,) = meta["errors"]["test_band_energy_errors_mev_per_atom"]
    assert result["errors"]["band_energy_error_mev_per_atom"] == pytest.approx(study_error, rel=1e-9, abs=1e-9)
    (study_free,) = meta["errors"]["test_total_free_energy_errors_mev_per_atom"]
    assert result["errors"]["total_free_energy_error_mev_per_atom"] == pytest.approx(study_free, rel=1e-9, abs=1e-9)
    ldos = np.load(tmp_path / "p" / "ldos.npy", mmap_mode="r")
    assert ldos.shape == (24, 24, 24, 84) and ldos.dtype == np.float32

    # the calculator computes the descriptors itself (LAMMPS) on the training spacing: the same grid
    atoms = load_snapshot(snapshot).atoms.copy()
    atoms.calc = surrogate_hpo.SurrogateCalculator(run_dir / "model")
    energy = atoms.get_potential_energy()
    assert atoms.calc.prediction.grid == (24, 24, 24)
    assert energy == pytest.approx(result["energies"]["total_free_energy"], rel=1e-9)
    assert "forces" not in surrogate_hpo.SurrogateCalculator.implemented_properties
    with pytest.raises(Exception, match="forces"):
        atoms.get_forces()


def test_a_structure_file_on_another_grid_and_streamed_batches(study, tmp_path):
    """A structure ASE reads (a doubled cell) on an explicit grid, in small batches."""
    import ase.io

    run_dir, _ = study
    atoms = load_snapshot(sample_directory() / "Al_298K_009").atoms.repeat((2, 1, 1))
    ase.io.write(tmp_path / "Al8.xyz", atoms, format="extxyz")
    proc = _predict_cli(f"model={run_dir / 'model'}", f"structure={tmp_path / 'Al8.xyz'}", "batch_points=5000",
                        f"output_dir={tmp_path / 'p'}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "p" / "prediction.json").read_text())
    assert result["grid"] == [48, 24, 24]  # the training spacing on a doubled cell
    assert result["errors"] is None
    assert result["energies"]["number_of_electrons"] == pytest.approx(24.0, rel=1e-6)
    proc = _predict_cli(f"model={run_dir / 'model'}", f"structure={tmp_path / 'Al8.xyz'}", "grid=[20,10,10]",
                        "write_ldos=false", f"output_dir={tmp_path / 'q'}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    whole = json.loads((tmp_path / "q" / "prediction.json").read_text())
    assert whole["grid"] == [20, 10, 10]
    assert not (tmp_path / "q" / "ldos.npy").exists()
    # descriptors in slabs of grid planes (as for a grid too large for memory): the same energies
    proc = _predict_cli(f"model={run_dir / 'model'}", f"structure={tmp_path / 'Al8.xyz'}", "grid=[20,10,10]",
                        "write_ldos=false", "descriptor_memory_gb=0.0005", f"output_dir={tmp_path / 's'}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "planes 0.." in proc.stdout and "(1/" in proc.stdout
    slabs = json.loads((tmp_path / "s" / "prediction.json").read_text())
    for key in ("band_energy", "total_free_energy", "fermi_energy"):
        assert slabs["energies"][key] == pytest.approx(whole["energies"][key], rel=1e-9, abs=1e-9), key


def test_mala_snapshots_without_an_energy_grid_or_as_openpmd_are_predicted_for(study, tmp_path):
    """MALA keeps the energy grid in its parameters, not beside the arrays: the model's stands in,
    and says so. MALA's openPMD snapshots are read as its .npy ones."""
    run_dir, _ = study
    model = load_model(run_dir / "model")
    for suffix in (".in.npy", ".out.npy", ".info.json"):
        shutil.copy(sample_directory() / f"Al_298K_009{suffix}", tmp_path / f"Al_298K_009{suffix}")
    info = json.loads((tmp_path / "Al_298K_009.info.json").read_text())
    del info["energy_grid"]
    (tmp_path / "Al_298K_009.info.json").write_text(json.dumps(info))
    structure = read_structure(tmp_path / "Al_298K_009", model)
    assert structure.reference_ldos is not None and structure.descriptors is not None
    assert any("does not record its energy grid" in note for note in structure.notes)
    openpmd = read_structure(MALA_FOLDER / "openpmd" / "Al_snapshot0.out.h5", model)
    assert openpmd.grid == (15, 15, 15) and openpmd.atoms.get_chemical_formula() == "Al4"
    assert openpmd.reference_ldos is None  # 30 energies against the model's 84: no comparison, and a note
    assert any("is not the model's" in note for note in openpmd.notes)


def test_a_structure_with_an_element_the_model_does_not_know_is_refused(study, tmp_path):
    run_dir, _ = study
    model = load_model(run_dir / "model")
    atoms = load_snapshot(sample_directory() / "Al_298K_009").atoms.copy()
    atoms.symbols[0] = "Cu"
    with pytest.raises(BundleError, match=r"holds \['Cu'\]; the model was trained on \['Al'\] only"):
        predict_structure(model, StructureInput(name="AlCu", atoms=atoms))
    import ase.io

    ase.io.write(tmp_path / "AlCu.xyz", atoms, format="extxyz")
    proc = _predict_cli(f"model={run_dir / 'model'}", f"structure={tmp_path / 'AlCu.xyz'}",
                        f"output_dir={tmp_path / 'p'}")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "holds ['Cu']" in proc.stderr and not (tmp_path / "p").exists()


def test_incomplete_or_foreign_bundles_are_refused(study, tmp_path):
    run_dir, _ = study
    missing = tmp_path / "no_weights"
    shutil.copytree(run_dir / "model", missing)
    (missing / "weights.npz").unlink()
    with pytest.raises(BundleError, match="weights.npz is missing"):
        load_model(missing)
    newer = tmp_path / "newer"
    shutil.copytree(run_dir / "model", newer)
    meta = json.loads((newer / "bundle.json").read_text())
    meta.update(version=2, package_version="9.0.0")
    (newer / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=r"bundle version 2 was written by surrogate_hpo 9\.0\.0; this surrogate_hpo"):
        load_model(newer)
    with pytest.raises(BundleError, match="bundle.json is missing"):
        load_model(tmp_path)
    proc = _predict_cli(f"model={tmp_path / 'nowhere'}", "structure=x.xyz")
    assert proc.returncode == 2 and "no such model bundle folder" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("change,message", [
    ({"n_in": 1e999}, "n_in/n_out is not valid"),
    ({"n_out": float("nan")}, "n_in/n_out is not valid"),
    ({"architecture": {"widths": [10**7, 10**7], "activations": "relu"}}, "weights.npz holds"),
    ({"temperature": -1}, "temperature is not valid"),
    ({"valence_charges": {"Al": None}}, "valence_charges is not valid"),
    ({"grid_spacing": [0.2, 0.2]}, "grid_spacing is not valid"),
])
def test_a_tampered_bundle_is_refused_naming_the_key(study, tmp_path, change, message):
    """Nothing is allocated for a network the weights do not hold; no value reaches the physics unchecked."""
    run_dir, _ = study
    shutil.copytree(run_dir / "model", tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "bundle.json").read_text())
    (tmp_path / "m" / "bundle.json").write_text(json.dumps({**meta, **change}))
    with pytest.raises(BundleError, match=message):
        load_model(tmp_path / "m")


def test_a_scaler_with_nan_is_refused(study, tmp_path):
    run_dir, _ = study
    shutil.copytree(run_dir / "model", tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "bundle.json").read_text())
    meta["y_scaler"]["max"] = [float("nan")] * len(meta["y_scaler"]["max"])
    (tmp_path / "m" / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="x_scaler/y_scaler is not valid.*NaN"):
        load_model(tmp_path / "m")


@pytest.mark.parametrize("setting,message", [("batch_points=0", "batch_points=0 must be >= 1"),
                                             ("descriptor_memory_gb=0", "descriptor_memory_gb=0 must be a number"),
                                             ("descriptor_memory_gb=lots", "descriptor_memory_gb='lots' must be"),
                                             ("device=tpu", "device=tpu: choose auto, cpu, cuda or cuda:<index>"),
                                             ("output_dir={tmp}/p/file.txt/out", "{tmp}/p/file.txt is a file, not a folder")])
def test_bad_prediction_settings_stop_before_the_model_is_read(tmp_path, setting, message):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "file.txt").write_text("")
    setting, message = setting.format(tmp=tmp_path), message.format(tmp=tmp_path)
    proc = _predict_cli(f"model={tmp_path / 'nowhere'}", "structure=x.xyz", f"output_dir={tmp_path / 'p'}", setting)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert [f.name for f in (tmp_path / "p").iterdir()] == ["file.txt"]  # nothing written
