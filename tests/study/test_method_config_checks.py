"""Method settings that cannot work are refused before any data is read or Ray starts."""

from __future__ import annotations

import pytest
from composed_config import compose_config

from surrogate_hpo.errors import ConfigError
from surrogate_hpo.search import make_method
from surrogate_hpo.study.config import parse_study_config


def check(cfg):
    parse_study_config(cfg)
    return make_method(cfg["method"], cfg["search_space"])


@pytest.mark.parametrize("overrides, message", [
    (["method=direct", "method.order=[learning_rate,depth]"], "unknown factor(s) ['depth']"),
    (["method=direct", "+method.start.learning_rate=0.5"], "is not one of its levels"),
    (["method=oat", "method.factors=[width_1,dropout]"], "unknown factor(s) ['dropout']"),
    (["method=oat", "method.max_rows=4"], "method.max_rows=4"),
    (["method=tpe", "method.n_trials=0"], "method.n_trials=0 must be >= 1"),
    (["method=tpe", "method.repeats=0"], "method.repeats=0 must be >= 1"),
    (["method=tpe_naswot", "method.quantile=1.5"], "quantile=1.5 must lie in [0, 1]"),
    (["method=oat", "method.objective=test_error"], "method.objective='test_error': choose one of"),
    (["method=naswot", "method.score=magic"], "method.score='magic' is unknown"),
    (["method=tpe", "+method.n_trial=3"], "method.n_trial: unknown key (did you mean method.n_trials?)"),
    (["method=naswot", "+method.n_trails=3"], "method.n_trails: unknown key"),
    (["training.max_epochs=0"], "max_epochs must be >= 1"),
    (["training.batch_size=0"], "batch_size must be >= 1"),
    (["training.learning_rate=-0.1"], "learning_rate must be > 0"),
    (["+training.max_epoch=3"], "training.max_epoch: unknown key (did you mean training.max_epochs?)"),
    (["study_name=../x"], "study_name='../x' must be a plain folder name"),
    (["study_name='al\n'"], "must be a plain folder name"),
    (["seed=99999999999999999999"], "seed=99999999999999999999 must be < 2147483648"),
    (["+data.pth=/x"], "data.pth: unknown key (did you mean data.path?)"),
])
def test_bad_settings_name_the_key(overrides, message):
    cfg = compose_config(overrides)
    with pytest.raises(ConfigError) as err:
        check(cfg)
    assert message in str(err.value)


def test_naswot_optimized_needs_training_parameters_to_tune():
    cfg = compose_config(["method=naswot_optimized"])
    cfg["search_space"]["training"] = {}
    with pytest.raises(ConfigError, match="search_space.training, which is empty"):
        check(cfg)


@pytest.mark.parametrize("method", ["naswot", "naswot_optimized", "direct", "tpe", "tpe_naswot", "oat", "acsd"])
@pytest.mark.parametrize("budget", ["default", "quick"])
def test_every_shipped_method_config_passes_the_checks(method, budget):
    assert check(compose_config([f"method={method}", f"budget={budget}"])).name == method


def test_a_key_of_another_method_is_left_out_with_a_note(capsys):
    method = check(compose_config(["method=naswot", "+method.n_trials=3"]))  # as in a multirun naswot,tpe
    assert method.name == "naswot" and "method=naswot does not use method.n_trials" in capsys.readouterr().out
