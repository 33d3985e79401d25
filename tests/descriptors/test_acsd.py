import math

import numpy as np
import pytest

from surrogate_hpo.descriptors.acsd import (
    acsd,
    acsd_pairs,
    acsd_reference,
    pair_similarities,
)


def _data(n=300, f=12, e=9, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, f)), rng.random((n, e))


def test_identical_similarity_structure_gives_zero():
    d, _ = _data()
    assert acsd(d, d, n_points=50, n_partners=50) == pytest.approx(0.0, abs=1e-12)
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(12, 12)))
    for clip in (True, False):
        assert acsd(d @ q, d, n_points=50, n_partners=50, clip=clip) == pytest.approx(0.0, abs=1e-12)
    # per-row positive scaling does not change cosine similarities either
    assert acsd(d * np.arange(1, 301)[:, None], d, n_points=40, n_partners=40, clip=False) == pytest.approx(0.0, abs=1e-12)


def test_hand_cases():
    # 2 points; descriptors identical (s_B = 1), LDOS orthogonal (s_d = 0) for the cross pairs
    d = np.array([[1.0, 0.0], [1.0, 0.0]])
    l = np.array([[1.0, 0.0], [0.0, 1.0]])
    # all 4 pairs: (0,0),(0,1),(1,0),(1,1); cross pairs have distance 1, self pairs 0
    assert acsd(d, l, n_points=2, n_partners=2) == pytest.approx(0.5)
    assert acsd(d, l, n_points=2, n_partners=2, clip=False) == pytest.approx(0.5 / math.sqrt(2))
    # reversed roles: descriptors orthogonal, LDOS identical -> s_B - s_d = -1: clipped to 0
    assert acsd(l, d, n_points=2, n_partners=2) == pytest.approx(0.0)
    assert acsd(l, d, n_points=2, n_partners=2, clip=False) == pytest.approx(0.5 / math.sqrt(2))
    # 45 degrees vs orthogonal: s_B = 1/sqrt2, s_d = 0 on cross pairs
    d2 = np.array([[1.0, 0.0], [1.0, 1.0]])
    assert acsd(d2, l, n_points=2, n_partners=2) == pytest.approx(0.5 / math.sqrt(2))


def test_vectorised_equals_pair_loop():
    d, l = _data(n=200, f=7, e=5, seed=4)
    d[5] = 0.0  # zero vector convention
    for clip in (True, False):
        for seed in (0, 7):
            a = acsd(d, l, n_points=30, n_partners=25, seed=seed, clip=clip)
            b = acsd_reference(d, l, n_points=30, n_partners=25, seed=seed, clip=clip)
            assert a == pytest.approx(b, rel=1e-12, abs=1e-14)


def test_similarities_match_definition():
    d, l = _data(n=50)
    pts, par = acsd_pairs(50, n_points=5, n_partners=4, seed=2)
    s_b, s_d = pair_similarities(d, l, pts, par)
    i, j = pts[3], par[3, 2]
    assert s_b[3, 2] == pytest.approx(d[i] @ d[j] / np.linalg.norm(d[i]) / np.linalg.norm(d[j]))
    assert s_d[3, 2] == pytest.approx(l[i] @ l[j] / np.linalg.norm(l[i]) / np.linalg.norm(l[j]))


def test_seed_determinism_and_pairs():
    d, l = _data()
    assert acsd(d, l, seed=3) == acsd(d, l, seed=3)
    assert acsd(d, l, seed=3) != acsd(d, l, seed=4)
    pts, par = acsd_pairs(300, n_points=200, n_partners=200, seed=0)
    assert pts.shape == (200,) and par.shape == (200, 200)
    assert len(set(pts.tolist())) == 200
    assert all(len(set(row.tolist())) == 200 for row in par)
    # grids are flattened
    assert acsd(d.reshape(3, 10, 10, 12), l.reshape(3, 10, 10, 9), seed=3) == acsd(d, l, seed=3)


def test_bad_input():
    with pytest.raises(ValueError):
        acsd(np.ones((10, 3)), np.ones((9, 3)))
    with pytest.raises(ValueError):
        acsd(np.ones(10), np.ones(10))


def test_blocks_dtypes_and_strides(monkeypatch):
    import surrogate_hpo.descriptors.acsd as mod

    d, l = _data(n=120, f=9, e=6, seed=5)
    d[7] = 0.0
    ref = [acsd_reference(d, l, n_points=23, n_partners=17, seed=1, clip=c) for c in (True, False)]
    for per_block in (1, 17 * 4 + 5, 10_000):  # one row per block, a ragged last block, one block
        monkeypatch.setattr(mod, "_PAIRS_PER_BLOCK", per_block)
        for clip, r in zip((True, False), ref):
            assert acsd(d, l, n_points=23, n_partners=17, seed=1, clip=clip) == pytest.approx(r, rel=1e-12, abs=1e-14)
    # float32 inputs: float64 arithmetic on the float32 values (not float32 dot products)
    d32, l32 = d.astype(np.float32), l.astype(np.float32)
    a32 = acsd(d32, l32, n_points=23, n_partners=17, seed=1)
    assert a32 == pytest.approx(acsd_reference(d32.astype(np.float64), l32.astype(np.float64), n_points=23,
                                               n_partners=17, seed=1), rel=1e-12, abs=1e-14)
    # non-contiguous rows (xyz columns sliced off) and integer inputs
    wide = np.concatenate([np.zeros((120, 3)), d], axis=1)
    assert acsd(wide[:, 3:], l, n_points=23, n_partners=17, seed=1) == pytest.approx(ref[0], rel=1e-12, abs=1e-14)
    di = np.arange(120 * 4).reshape(120, 4) % 7
    assert acsd(di, l, seed=2, n_points=11, n_partners=9) == pytest.approx(
        acsd_reference(di.astype(float), l, seed=2, n_points=11, n_partners=9), rel=1e-12, abs=1e-14)
