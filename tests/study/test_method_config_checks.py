"""Method settings that cannot work are refused before any data is read or Ray starts."""

from __future__ import annotations

import pytest

from composed_config import compose_config
from surrogate_hpo.study.config_check import check_config
from surrogate_hpo.study.errors import ConfigError


@pytest.mark.parametrize("overrides, message", [
    (["method=direct", "method.order=[learning_rate,depth]"], "unknown factor(s) ['depth']"),
    (["method=direct", "+method.start.learning_rate=0.5"], "is not one of its levels"),
    (["method=oat", "method.factors=[width_1,dropout]"], "unknown factor(s) ['dropout']"),
    (["method=oat", "method.max_rows=4"], "method.max_rows=4"),
    (["method=tpe", "method.n_trials=0"], "method.n_trials must be >= 1"),
    (["method=tpe", "method.repeats=0"], "method.repeats must be >= 1"),
    (["method=tpe_naswot", "method.quantile=1.5"], "quantile must lie in [0, 1]"),
    (["method=oat", "method.objective=test_error"], "method.objective='test_error' is unknown"),
])
def test_bad_method_settings_name_the_key(overrides, message):
    cfg = compose_config(overrides)
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    assert message in str(err.value)
    assert f"method={cfg['method']['name']}" in str(err.value)


def test_naswot_optimized_needs_training_parameters_to_tune():
    cfg = compose_config(["method=naswot_optimized"])
    cfg["search_space"]["training"] = {}
    with pytest.raises(ConfigError, match="search_space.training, which is empty"):
        check_config(cfg)


@pytest.mark.parametrize("method", ["naswot", "naswot_optimized", "direct", "tpe", "tpe_naswot", "oat", "acsd"])
@pytest.mark.parametrize("budget", ["default", "quick"])
def test_every_shipped_method_config_passes_the_checks(method, budget):
    module, space = check_config(compose_config([f"method={method}", f"budget={budget}"]))
    assert module.__name__.endswith(method)
