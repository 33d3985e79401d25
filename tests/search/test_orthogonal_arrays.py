import itertools
import math

import numpy as np
import pytest

from surrogate_hpo.search.orthogonal_arrays import (
    is_orthogonal,
    orthogonal_array,
    range_analysis,
)

EXAMPLES = {
    (2, 4, 4, 3): 48,
    (3, 3, 3, 3): 9,
    (2,) * 7: 8,
    (4, 2, 2, 2, 2): 8,
    (5, 5, 5): 25,
    (2, 3): 6,
    (6, 2): 12,
}


def _check_strength2_brute(arr, levels):
    """Independent check: every level pair in every column pair the same number of times."""
    n = arr.shape[0]
    for i, j in itertools.combinations(range(len(levels)), 2):
        expected = n / (levels[i] * levels[j])
        for a in range(levels[i]):
            for b in range(levels[j]):
                assert np.sum((arr[:, i] == a) & (arr[:, j] == b)) == expected, (levels, i, j, a, b)


def _check_array(levels):
    arr = orthogonal_array(levels)
    assert arr.ndim == 2 and arr.shape[1] == len(levels)
    assert np.issubdtype(arr.dtype, np.integer)
    assert arr.shape[0] <= math.prod(levels)
    for j, m in enumerate(levels):
        # every level appears, equally often, and nothing else
        assert set(np.unique(arr[:, j])) == set(range(m))
        assert np.all(np.bincount(arr[:, j], minlength=m) == arr.shape[0] // m)
    _check_strength2_brute(arr, levels)
    assert is_orthogonal(arr, levels)
    return arr


@pytest.mark.parametrize("levels", list(EXAMPLES))
def test_example_level_sets_are_strength_2_with_documented_run_counts(levels):
    arr = _check_array(list(levels))
    assert arr.shape[0] == EXAMPLES[levels]


def test_random_mixed_level_sets_are_strength_2():
    rng = np.random.default_rng(12345)
    for _ in range(60):
        k = int(rng.integers(1, 7))
        levels = [int(m) for m in rng.integers(1, 7, size=k)]
        _check_array(levels)


@pytest.mark.parametrize("levels", [[1], [1, 1], [1, 3, 2], [4], [7], [2] * 15, [3] * 13, [8, 2, 2], [9, 3, 3], [4] * 5])
def test_edge_and_classic_cases(levels):
    arr = _check_array(levels)
    for j, m in enumerate(levels):
        if m == 1:
            assert np.all(arr[:, j] == 0)


def test_classic_arrays_are_found():
    assert orthogonal_array([2] * 15).shape[0] == 16
    assert orthogonal_array([3] * 13).shape[0] == 27
    assert orthogonal_array([4] * 5).shape[0] == 16
    assert orthogonal_array([7]).shape[0] == 7


def test_deterministic():
    assert np.array_equal(orthogonal_array([2, 4, 4, 3]), orthogonal_array([2, 4, 4, 3]))


@pytest.mark.parametrize("bad", [[], [0], [2, -1], [2.5], [True, 2]])
def test_bad_levels_raise(bad):
    with pytest.raises(ValueError):
        orthogonal_array(bad)


@pytest.mark.parametrize("strength", [1, 3])
def test_only_strength_2(strength):
    with pytest.raises(ValueError, match="only strength 2"):
        orthogonal_array([2, 2], strength=strength)
    with pytest.raises(ValueError, match="only strength 2"):
        is_orthogonal(np.zeros((4, 2), int), [2, 2], strength=strength)


def test_is_orthogonal_rejects_non_orthogonal():
    ff = np.array(list(itertools.product(range(2), range(2))))
    assert is_orthogonal(ff, [2, 2])
    assert not is_orthogonal(ff[:3], [2, 2])  # unbalanced
    bad = np.array([[0, 0], [0, 0], [1, 1], [1, 1]])  # balanced columns, pairs missing
    assert not is_orthogonal(bad, [2, 2])
    assert not is_orthogonal(np.array([[0, 2], [1, 0]]), [2, 2])  # out of range
    with pytest.raises(ValueError):
        is_orthogonal(ff, [2, 2, 2])


def test_range_analysis_hand_example():
    # L4(2^3)
    arr = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]])
    losses = [1.0, 2.0, 5.0, 8.0]
    res = range_analysis(arr, [2, 2, 2], losses)
    np.testing.assert_allclose(res["level_means"][0], [1.5, 6.5])
    np.testing.assert_allclose(res["level_means"][1], [3.0, 5.0])
    np.testing.assert_allclose(res["level_means"][2], [4.5, 3.5])
    assert res["best_levels"] == [0, 0, 1]
    np.testing.assert_allclose(res["importance"], [5.0, 2.0, 1.0])
    assert res["ranking"] == [0, 1, 2]
    assert res["n_failed"] == 0 and res["n_used"] == 4
    assert [c.tolist() for c in res["level_counts"]] == [[2, 2]] * 3


@pytest.mark.parametrize("levels", [[2, 4, 4, 3], [3, 3, 3, 3], [4, 2, 2, 2, 2], [5, 5, 5], [6, 2]])
def test_range_analysis_finds_best_levels_of_separable_objective(levels):
    rng = np.random.default_rng(7)
    effects = [rng.permutation(m).astype(float) * (j + 1) for j, m in enumerate(levels)]
    arr = orthogonal_array(levels)
    losses = sum(effects[j][arr[:, j]] for j in range(len(levels)))
    res = range_analysis(arr, levels, losses)
    assert res["best_levels"] == [int(np.argmin(e)) for e in effects]
    # orthogonality: level means are the effect plus a constant, so ranges are exact
    np.testing.assert_allclose(res["importance"], [e.max() - e.min() for e in effects])
    ranges = [e.max() - e.min() for e in effects]
    assert res["ranking"][0] == int(np.argmax(ranges))


def test_range_analysis_excludes_failed_trials():
    arr = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]])
    res = range_analysis(arr, [2, 2, 2], [1.0, np.nan, 5.0, np.inf])
    assert res["n_failed"] == 2 and res["n_used"] == 2
    np.testing.assert_allclose(res["level_means"][0], [1.0, 5.0])
    np.testing.assert_allclose(res["level_means"][1], [3.0, np.nan])
    assert res["best_levels"] == [0, 0, 0]
    np.testing.assert_allclose(res["importance"], [4.0, 0.0, 4.0])
    assert [c.tolist() for c in res["level_counts"]][1] == [2, 0]


def test_range_analysis_errors():
    arr = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    with pytest.raises(ValueError, match="no finite loss"):
        range_analysis(arr, [2, 2], [np.nan] * 4)
    with pytest.raises(ValueError, match="one loss per row"):
        range_analysis(arr, [2, 2], [1.0, 2.0])
    with pytest.raises(ValueError):
        range_analysis(arr, [2, 2, 2], [1.0] * 4)
