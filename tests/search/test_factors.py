"""The flat factor view of the search space (surrogate_hpo.search.factors)."""

from __future__ import annotations

import numpy as np
import pytest
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from surrogate_hpo.model import Architecture
from surrogate_hpo.search.factors import (
    all_factors,
    architecture_factors,
    candidate_of,
    flat_config,
    optuna_distributions,
    training_factors,
    training_of,
)
from surrogate_hpo.search.space import SearchSpaceError, parse_search_space


def Candidate(widths, activations):  # noqa: N802 - the grid's name for one network shape
    return Architecture(list(widths), list(activations))


SPACE_CFG = {
    "architecture": {"n_layers": [1, 3], "width": [8, 16, 32], "activation": ["relu", "tanh"]},
    "training": {
        "learning_rate": {"distribution": "loguniform", "low": 1e-4, "high": 1e-2, "levels": [1e-4, 1e-3, 1e-2]},
        "batch_size": {"distribution": "categorical", "values": [32, 64]},
        "weight_decay": {"distribution": "uniform", "low": 0.0, "high": 0.5, "levels": [0.0, 0.25]},
        "early_stopping_patience": {"distribution": "int", "low": 2, "high": 20, "levels": [2, 5, 10]},
    },
}


@pytest.fixture
def space():
    return parse_search_space(SPACE_CFG)


def test_architecture_factors_cover_every_possible_layer_in_order(space):
    facs = architecture_factors(space)
    max_layers = max(SPACE_CFG["architecture"]["n_layers"])
    expected_names = ["n_layers"] + [f"{kind}_{i}" for i in range(1, max_layers + 1) for kind in ("width", "activation")]
    assert [f.name for f in facs] == expected_names
    assert all(f.is_architecture for f in facs)
    by_name = {f.name: f for f in facs}
    assert by_name["n_layers"].levels == tuple(SPACE_CFG["architecture"]["n_layers"])
    for i in range(1, max_layers + 1):
        assert by_name[f"width_{i}"].levels == tuple(SPACE_CFG["architecture"]["width"])
        assert by_name[f"activation_{i}"].levels == tuple(SPACE_CFG["architecture"]["activation"])
        assert by_name[f"width_{i}"].n_levels == len(SPACE_CFG["architecture"]["width"])


def test_training_factors_follow_the_config_order_with_grid_levels(space):
    facs = training_factors(space)
    assert [f.name for f in facs] == list(SPACE_CFG["training"])
    assert not any(f.is_architecture for f in facs)
    for f in facs:
        spec = SPACE_CFG["training"][f.name]
        assert f.levels == tuple(spec["values"] if spec["distribution"] == "categorical" else spec["levels"])


def test_all_factors_is_architecture_then_training(space):
    names = [f.name for f in all_factors(space)]
    assert names == [f.name for f in architecture_factors(space)] + [f.name for f in training_factors(space)]
    assert [f.name for f in all_factors(space, architecture=False)] == list(SPACE_CFG["training"])
    assert [f.name for f in all_factors(space, training=False)] == [f.name for f in architecture_factors(space)]
    assert all_factors(space, architecture=False, training=False) == []


def test_all_factors_names_select_in_the_given_order(space):
    order = ["early_stopping_patience", "width_2", "n_layers", "batch_size"]
    picked = all_factors(space, names=order)
    assert [f.name for f in picked] == order
    assert picked[1].is_architecture and not picked[0].is_architecture


def test_unknown_factor_name_raises_listing_known_names(space):
    with pytest.raises(SearchSpaceError) as err:
        all_factors(space, names=["n_layers", "momentum"])
    msg = str(err.value)
    assert "momentum" in msg
    for f in all_factors(space):
        assert f.name in msg
    # a training name is unknown when only architecture factors are searched
    with pytest.raises(SearchSpaceError, match="learning_rate"):
        all_factors(space, training=False, names=["learning_rate"])
    # ... and width_4 is beyond the deepest network
    with pytest.raises(SearchSpaceError, match="width_4"):
        all_factors(space, names=["width_4"])


def test_flat_config_and_candidate_of_round_trip_every_candidate(space):
    policy = {"learning_rate": 1e-3, "batch_size": 64}
    cands = space.candidates()
    assert len(cands) == space.n_candidates
    for cand in cands:
        cfg = flat_config(cand, policy)
        assert cfg["n_layers"] == cand.n_layers
        assert candidate_of(cfg) == cand
        assert training_of(cfg) == policy
    assert flat_config(cands[-1]) == {"n_layers": 3, **{k: v for i, (w, a) in
                                                         enumerate(zip(cands[-1].widths, cands[-1].activations), 1)
                                                         for k, v in ((f"width_{i}", w), (f"activation_{i}", a))}}


def test_layers_beyond_n_layers_are_ignored():
    cfg = {"n_layers": 1, "width_1": 16, "activation_1": "tanh",
           "width_2": 32, "activation_2": "relu", "width_3": 8, "activation_3": "relu"}
    assert candidate_of(cfg) == Candidate((16,), ("tanh",))
    cfg["n_layers"] = 2
    assert candidate_of(cfg) == Candidate((16, 32), ("tanh", "relu"))


def test_candidate_of_values_are_plain_types():
    cand = candidate_of({"n_layers": np.int64(2), "width_1": np.int64(8), "activation_1": np.str_("relu"),
                         "width_2": "16", "activation_2": "tanh"})
    assert cand == Candidate((8, 16), ("relu", "tanh"))
    assert all(type(w) is int for w in cand.widths)


def test_candidate_of_with_default_network():
    default = Candidate((32, 16), ("tanh", "relu"))
    # no architecture key at all: the default network
    assert candidate_of({"learning_rate": 1e-3}, default=default) == default
    # only one key changed: the rest comes from the default
    assert candidate_of({"width_2": 8}, default=default) == Candidate((32, 8), ("tanh", "relu"))
    # fewer layers than the default: the default's first layers
    assert candidate_of({"n_layers": 1}, default=default) == Candidate((32,), ("tanh",))
    # more layers than the default: the new layer must be given
    assert candidate_of({"n_layers": 3, "width_3": 8, "activation_3": "relu"}, default=default) == \
        Candidate((32, 16, 8), ("tanh", "relu", "relu"))
    with pytest.raises(KeyError, match="width_3"):
        candidate_of({"n_layers": 3}, default=default)


def test_candidate_of_without_default_needs_the_network():
    with pytest.raises(KeyError, match="n_layers"):
        candidate_of({"width_1": 8, "activation_1": "relu"})
    with pytest.raises(KeyError, match="width_2"):
        candidate_of({"n_layers": 2, "width_1": 8, "activation_1": "relu", "width_2": 8})


def test_training_of_excludes_architecture_and_seed():
    cfg = {"n_layers": 2, "width_1": 8, "activation_1": "relu", "width_2": 16, "activation_2": "tanh",
           "width_3": 4, "activation_3": "relu", "seed": 7,
           "learning_rate": np.float64(1e-3), "batch_size": np.int64(64), "optimizer": "adam"}
    out = training_of(cfg)
    assert out == {"learning_rate": 1e-3, "batch_size": 64, "optimizer": "adam"}
    # numpy scalars become Python scalars (configs go to JSON)
    assert type(out["learning_rate"]) is float and type(out["batch_size"]) is int
    # a name that merely contains a prefix elsewhere is training, not architecture
    assert training_of({"max_width": 3, "n_layers_frozen": 1}) == {"max_width": 3, "n_layers_frozen": 1}


def test_optuna_distributions_types(space):
    dists = optuna_distributions(space)
    assert list(dists) == [f.name for f in all_factors(space)]
    for f in architecture_factors(space):
        assert isinstance(dists[f.name], CategoricalDistribution)
        assert tuple(dists[f.name].choices) == f.levels
    lr = dists["learning_rate"]
    assert isinstance(lr, FloatDistribution) and lr.log
    assert (lr.low, lr.high) == (1e-4, 1e-2)
    dr = dists["weight_decay"]
    assert isinstance(dr, FloatDistribution) and not dr.log
    assert (dr.low, dr.high) == (0.0, 0.5)
    pat = dists["early_stopping_patience"]
    assert isinstance(pat, IntDistribution) and (pat.low, pat.high) == (2, 20)
    bs = dists["batch_size"]
    assert isinstance(bs, CategoricalDistribution) and tuple(bs.choices) == (32, 64)

    assert list(optuna_distributions(space, architecture=False)) == list(SPACE_CFG["training"])
    assert list(optuna_distributions(space, training=False)) == [f.name for f in architecture_factors(space)]
