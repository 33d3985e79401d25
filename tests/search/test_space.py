import pytest

from surrogate_hpo.search.space import SearchSpaceError, parse_search_space
from surrogate_hpo.util.chunks import chunk_bounds

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
        ({"training": {"weight_decay": {"distribution": "uniform", "low": 1, "high": 0, "levels": [0.5]}}},
         "low < high"),
        ({"training": {"weight_decay": {"distribution": "uniform", "low": 0, "high": 1, "levels": [2]}}}, "outside"),
        ({"training": {"weight_decay": {"distribution": "gauss"}}}, "unknown"),
        ({"training": {"lr": {"distribution": "uniform", "low": 0, "high": 1, "levels": [0.5]}}},
         "unknown training parameter"),
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


def test_candidate_by_index_and_index_of_invert_the_grid_order():
    space = parse_search_space({"architecture": {"n_layers": [2, 3], "width": [32, 64, 128],
                                                 "activation": ["sigmoid", "relu", "leakyrelu", "tanh"]}})
    cands = space.candidates()
    assert len(cands) == space.n_candidates == 144 + 1728
    for i in (0, 1, 143, 144, 1000, 1871):
        assert space.candidate(i) == cands[i] and space.index_of(cands[i]) == i
    assert list(space.iter_candidates(140, 148)) == cands[140:148]
    with pytest.raises(IndexError):
        space.candidate(1872)


@pytest.mark.parametrize(
    "training, words",
    [
        ({"learnin_rate": {"distribution": "categorical", "values": [1e-3]}},
         "search_space.training.learnin_rate: unknown training parameter (did you mean learning_rate?)"),
        ({"batch_size": {"distribution": "categorical", "values": [0, 64]}}, "value 0 cannot be used"),
        ({"learning_rate": {"distribution": "uniform", "low": -1.0, "high": 1.0, "levels": [0.5]}},
         "value -1.0 cannot be used"),
        ({"batch_size": {"distribution": "categorical", "valuess": [64]}}, "batch_size.valuess: unknown key"),
    ],
)
def test_training_parameters_are_checked_against_the_trainer(training, words):
    cfg = {"architecture": {"n_layers": [1], "width": [8], "activation": ["relu"]}, "training": training}
    with pytest.raises(SearchSpaceError) as e:
        parse_search_space(cfg)
    assert words in str(e.value)
