import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import brute
from paretohqd.pareto import (
    normalize,
    pareto_ranks,
    preference_grid,
    reward_bounds,
    select_pareto_hqd,
    select_scalarized,
)


@st.composite
def pools(draw):
    m = draw(st.sampled_from([2, 3, 4, 5]))
    n = draw(st.integers(4, 150))
    points = draw(arrays(np.int64, (n, m), elements=st.integers(0, 6))).astype(float)
    assume((points.max(axis=0) > points.min(axis=0)).all())
    prefs = draw(arrays(np.int64, (draw(st.integers(1, 5)), m), elements=st.integers(0, 4))).astype(float)
    assume((prefs.sum(axis=1) > 0).all())
    return points, prefs


@given(pools(), st.integers(1, 12), st.sampled_from([1.0, 2.0, 3.0]))
def test_pareto_hqd_selection_matches_the_definition(pool, k, pool_factor):
    points, prefs = pool
    ranks = brute.ranks(points)
    min_count = min(math.ceil(pool_factor * k), len(points))
    n_layers = int(np.searchsorted(np.cumsum(np.bincount(ranks)), min_count)) + 1
    hq = np.flatnonzero(ranks < n_layers)
    assume(k <= hq.size)
    sel = select_pareto_hqd(points, prefs, k, pool_factor=pool_factor)
    assert sel.indices.shape == (len(prefs), k)
    assert sel.n_layers == n_layers and np.array_equal(sel.candidates, hq)
    z = normalize(points, reward_bounds(points))
    for row, w in enumerate(sel.preferences):
        dist = np.array([brute.ray_distance(z[i], w) for i in hq])
        chosen = sel.indices[row]
        assert set(chosen) <= set(hq) and len(set(chosen)) == k
        assert np.allclose(sel.keys[row], [brute.ray_distance(z[i], w) for i in chosen], atol=1e-9)
        assert np.all(np.diff(sel.keys[row]) >= 0)
        left_out = np.setdiff1d(hq, chosen)
        if left_out.size:
            assert dist[np.isin(hq, left_out)].min() >= sel.keys[row].max() - 1e-9


@given(pools(), st.integers(1, 12))
def test_scalarized_selection_is_top_k_by_weighted_sum(pool, k):
    points, prefs = pool
    assume(k <= len(points))
    sel = select_scalarized(points, prefs, k)
    z = normalize(points, reward_bounds(points))
    for row, w in enumerate(sel.preferences):
        score = z @ w
        chosen = sel.indices[row]
        assert np.allclose(sel.keys[row], -score[chosen])
        assert np.all(np.diff(sel.keys[row]) >= 0)
        assert score[np.setdiff1d(np.arange(len(points)), chosen)].max(initial=-np.inf) <= score[chosen].min() + 1e-12


def test_selection_is_deterministic_and_breaks_ties_by_index():
    points = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.0, 1.0]])
    sel = select_pareto_hqd(points, [[1.0, 0.0]], 2, layers=1)
    assert sel.indices.tolist() == [[0, 2]]
    lin = select_scalarized(points, [[0.0, 1.0]], 2)
    assert lin.indices.tolist() == [[1, 4]]


def test_each_preference_gets_the_samples_nearest_its_ray_on_a_known_front():
    w1 = np.linspace(0, 1, 11)
    points = np.stack([w1, 1 - w1], axis=1)  # one front, one point per preference of the grid
    sel = select_pareto_hqd(points, preference_grid(2), 1)
    assert sel.indices[:, 0].tolist() == list(range(11))
    assert np.allclose(sel.keys, 0.0)


def test_selection_is_invariant_to_affine_rescaling_of_objectives():
    rng = np.random.default_rng(3)
    points = rng.random((300, 3))
    prefs = preference_grid(3)
    a = select_pareto_hqd(points, prefs, 10)
    b = select_pareto_hqd(points * [10.0, 0.5, 3.0] + [1.0, -7.0, 2.0], prefs, 10)
    assert np.array_equal(a.indices, b.indices)


def test_pool_factor_widens_the_high_quality_pool():
    rng = np.random.default_rng(1)
    points = rng.random((500, 2))
    narrow = select_pareto_hqd(points, [0.5, 0.5], 10, pool_factor=1)
    wide = select_pareto_hqd(points, [0.5, 0.5], 10, pool_factor=20)
    assert narrow.candidates.size < wide.candidates.size
    assert np.bincount(pareto_ranks(points))[: narrow.n_layers - 1].sum() < 10 <= narrow.candidates.size


def test_given_bounds_are_used_instead_of_the_pool_minmax():
    points = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    default = select_pareto_hqd(points, [1.0, 0.0], 1, layers=1)
    assert default.indices.tolist() == [[1]]
    from paretohqd.pareto import Bounds

    shifted = select_pareto_hqd(points, [1.0, 0.0], 1, layers=1, bounds=Bounds([0.0, 0.0], [0.5, 5.0]))
    assert shifted.bounds.upper.tolist() == [0.5, 5.0]
    assert shifted.indices.tolist() == [[2]]


def test_k_larger_than_the_pool_or_the_top_layers_is_an_error():
    points = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match=r"k=4 is larger than the pool \(3 points\)"):
        select_pareto_hqd(points, [0.5, 0.5], 4)
    with pytest.raises(ValueError, match=r"k=3 is larger than the 2 points in the top 1 Pareto layer"):
        select_pareto_hqd(points, [0.5, 0.5], 3, layers=1)
    with pytest.raises(ValueError, match=r"k=4 is larger than the pool"):
        select_scalarized(points, [0.5, 0.5], 4)
    with pytest.raises(ValueError, match="pool_factor must be >= 1"):
        select_pareto_hqd(points, [0.5, 0.5], 1, pool_factor=0.5)
    with pytest.raises(ValueError, match="k must be a positive integer; got 0"):
        select_pareto_hqd(points, [0.5, 0.5], 0)
