import pytest

from surrogate_hpo.search.space import SearchSpaceError, chunk_bounds, parse_search_space

BASE = {
    "architecture": {"n_layers": [1, 2], "width": [8, 16], "activation": ["relu", "tanh"]},
    "training": {
        "learning_rate": {"distribution": "loguniform", "low": 1e-4, "high": 1e-2, "levels": [1e-4, 1e-3]},
        "batch_size": {"distribution": "categorical", "values": [32, 64]},
    },
}


def test_grid_enumerates_every_per_layer_combination_once():
    space = parse_search_space(BASE)
    cands = space.candidates()
    # 1 layer: 4 (width, act) pairs; 2 layers: 4^2 = 16
    assert len(cands) == space.n_candidates == 4 + 16
    assert len(set(cands)) == len(cands)
    assert {c.n_layers for c in cands} == {1, 2}
    assert cands[0].describe() == "8 relu"


def test_training_levels_come_from_values_or_levels():
    space = parse_search_space(BASE)
    assert space.training_parameter("batch_size").grid == (32, 64)
    assert space.training_parameter("learning_rate").grid == (1e-4, 1e-3)


@pytest.mark.parametrize(
    "patch, words",
    [
        ({"architecture": {"n_layers": [], "width": [8], "activation": ["relu"]}}, "n_layers is empty"),
        ({"architecture": {"n_layers": [1], "width": [8], "activation": ["swish"]}}, "unknown ['swish']"),
        ({"architecture": {"n_layers": [1], "width": [0], "activation": ["relu"]}}, "width must be >= 1"),
        ({"architecture": None}, "architecture is missing"),
        ({"training": {"lr": {"distribution": "uniform", "low": 1, "high": 0, "levels": [0.5]}}}, "low < high"),
        ({"training": {"lr": {"distribution": "uniform", "low": 0, "high": 1, "levels": [2]}}}, "outside"),
        ({"training": {"lr": {"distribution": "gauss"}}}, "unknown"),
    ],
)
def test_bad_search_space_names_the_key(patch, words):
    cfg = {**BASE, **patch}
    with pytest.raises(SearchSpaceError, match=None) as err:
        parse_search_space(cfg)
    assert words in str(err.value)


def test_chunks_cover_every_index_once():
    bounds = chunk_bounds(10, 4)
    assert bounds == [(0, 4), (4, 8), (8, 10)]
    covered = [i for a, b in bounds for i in range(a, b)]
    assert covered == list(range(10))
    with pytest.raises(ValueError):
        chunk_bounds(3, 0)
