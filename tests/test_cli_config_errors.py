"""Invalid configs stop before Ray starts (or any data is read) with a message saying what to change."""

import os
import subprocess
import sys

import pytest


def run_cli(*overrides, tmp_path):
    env = {**os.environ, "SURROGATE_HPO_CACHE": str(tmp_path / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "surrogate_hpo", f"output_root={tmp_path}/out", *overrides],
        capture_output=True, text=True, timeout=120, env=env,
    )


@pytest.mark.parametrize(
    "overrides, words",
    [
        (["method.name=simulated_annealing"], "unknown method 'simulated_annealing'; available: "),
        (["search_space.architecture.width=[]"], "search_space.architecture.width is empty"),
        (["cluster.gpus_per_trial=1"], "has no CUDA GPU; set cluster.gpus_per_trial=0"),
        (["data=mala_dir", "data.path=/nonexistent/snapshots"], "data.path=/nonexistent/snapshots does not exist"),
        (["data=mala_dir"], "data.path is required"),
        (["data.path=/my/snapshots"], "is not read with data=sample (the bundled Al set); to study that folder "
                                      "choose it with: data=mala_dir data.path=/my/snapshots"),
        (["final_evaluation.seeds=0"], "final_evaluation.seeds=0 must be >= 1"),
        (["data.streaming=sometimes"], "data.streaming='sometimes': choose one of 'auto', true, false"),
        # a misspelled key of each group, added with '+' (Hydra accepts it; the typed config does not)
        (["+data.max_train_point_per_snapshot=5"], "data.max_train_point_per_snapshot: unknown key (did you mean "
                                                   "data.max_train_points_per_snapshot?)"),
        (["+training.max_epoch=3"], "training.max_epoch: unknown key (did you mean training.max_epochs?)"),
        # without '+': refused before Hydra, which would only suggest appending the key with '+'
        (["method.n_init=3"], "method.n_init: unknown key (did you mean method.n_inits?)"),
        (["+search_space.training.learnin_rate={distribution:categorical,values:[0.001]}"],
         "search_space.training.learnin_rate: unknown training parameter (did you mean learning_rate?)"),
        (["study_name=../escape"], "study_name='../escape' must be a plain folder name"),
        (["method.name=../../escape"], "method.name='../../escape' must be a plain folder name"),
        (["training.learning_rate=-1"], "learning_rate must be > 0"),
        (["data.shards=/nonexistent/shards"], "data.shards=/nonexistent/shards is not a folder"),
        (["cluster.address=auto", "cluster.gpus_per_trial=1.5"], "above 1 a trial takes whole GPUs"),
        (["method=_scoring"], "method=_scoring is a part that the method options share, not an option; choose one "
                              "of acsd, direct, naswot"),
        (["+generate=tiny"], "generate is the config of surrogate-hpo-generate, not of this command"),
    ],
)
def test_config_errors_are_clear_and_stop_before_ray(overrides, words, tmp_path):
    proc = run_cli(*overrides, tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr
    out = proc.stdout + proc.stderr
    assert "Ray" not in out and "ray.init" not in out
    assert not (tmp_path / "cache").exists()  # no data was materialised either
    assert not (tmp_path / "out").exists()  # nothing written but the message


def test_unknown_method_group_lists_the_options(tmp_path):
    proc = run_cli("method=nope", tmp_path=tmp_path)
    assert proc.returncode == 2
    assert "method/nope" in proc.stderr and "naswot" in proc.stderr


def test_a_misspelled_key_without_plus_is_refused_by_hydra_with_exit_code_2(tmp_path):
    proc = run_cli("training.max_epoch=3", tmp_path=tmp_path)
    assert proc.returncode == 2
    assert "max_epoch" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_an_output_root_that_is_a_file_is_refused_before_hydra_makes_folders(tmp_path):
    (tmp_path / "results.txt").write_text("not a folder")
    proc = run_cli(f"output_root={tmp_path}/results.txt/runs", tmp_path=tmp_path)
    assert proc.returncode == 2
    assert f"output_root={tmp_path}/results.txt/runs: {tmp_path}/results.txt is a file, not a folder" in proc.stderr
    assert "Traceback" not in proc.stderr and "HYDRA_FULL_ERROR" not in proc.stderr
    assert (tmp_path / "results.txt").read_text() == "not a folder"


@pytest.mark.parametrize("conf, argv, words, fixed", [
    ("predict", ["model=/m", "structur=POSCAR"], "structur: unknown key (did you mean structure?)", "structure=POSCAR"),
    ("", ["method=tpe", "method.n_trial=3"], "method.n_trial: unknown key (did you mean method.n_trials?); method takes",
     "method.n_trials=3"),
    ("", ["data.foo.bar=1"], "data.foo: unknown key; data takes", "data.temperature=300"),
])
def test_an_override_of_a_key_the_config_lacks_names_the_nearest(conf, argv, words, fixed, capsys):
    from surrogate_hpo.cli import CONF_DIR
    from surrogate_hpo.cli._errors import refuse_unknown_keys

    with pytest.raises(SystemExit) as stop:
        refuse_unknown_keys("prog", CONF_DIR / conf, argv)
    assert stop.value.code == 2 and f"prog: ConfigError: {words}" in capsys.readouterr().err
    assert refuse_unknown_keys("prog", CONF_DIR / conf, [*argv[:-1], fixed]) is None  # the suggested key passes
