import moocore
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import brute
from paretohqd.pareto import dominance, non_dominated, pareto_ranks, top_layers


@st.composite
def point_sets(draw, max_points=300, objectives=(2, 3, 4, 5)):
    """Small sets with many ties and duplicates (integer grid), sometimes mixed with continuous values."""
    m = draw(st.sampled_from(objectives))
    n = draw(st.integers(1, max_points))
    levels = draw(st.integers(1, 8))
    grid = draw(arrays(np.int64, (n, m), elements=st.integers(0, levels))).astype(float)
    if draw(st.booleans()):
        noise = draw(arrays(np.float64, (n, m), elements=st.floats(0, 1, allow_nan=False)))
        grid = grid + noise * draw(st.sampled_from([0.0, 0.5, 3.0]))
    return grid


@given(point_sets())
def test_ranks_match_brute_force_peeling(points):
    assert np.array_equal(pareto_ranks(points), brute.ranks(points))


@given(point_sets())
def test_first_front_is_the_set_no_point_dominates(points):
    expected = ~brute.dominance_matrix(points).any(axis=0)
    assert np.array_equal(non_dominated(points), expected)


@given(point_sets(), st.integers(1, 400))
def test_top_layers_are_the_fewest_whole_layers_reaching_min_count(points, min_count):
    ranks = brute.ranks(points)
    layers = top_layers(points, min_count)
    sizes = np.bincount(ranks)
    expected_layers = int(np.searchsorted(np.cumsum(sizes), min(min_count, len(points)))) + 1
    assert layers.n_layers == expected_layers
    assert np.array_equal(layers.indices, np.flatnonzero(ranks < expected_layers))
    assert np.array_equal(layers.ranks, ranks[layers.indices])


@given(point_sets(max_points=120), st.integers(1, 6))
def test_top_layers_by_count_of_layers(points, n_layers):
    ranks = brute.ranks(points)
    layers = top_layers(points, n_layers=n_layers)
    assert np.array_equal(layers.indices, np.flatnonzero(ranks < n_layers))
    assert layers.n_layers == min(n_layers, ranks.max() + 1)


@given(point_sets(max_points=200, objectives=(2, 3)), st.integers(1, 60))
def test_candidate_bound_path_matches_brute_force(monkeypatch_module, points, min_count):
    """Force the large-input path (layer count bounded on a candidate subset) onto small sets."""
    with monkeypatch_module.context() as patch:
        patch.setattr(dominance, "_DIRECT_LIMIT", 4)
        patch.setattr(dominance, "_MIN_CANDIDATES", 3)
        layers = top_layers(points, min_count)
    ranks = brute.ranks(points)
    sizes = np.bincount(ranks)
    expected_layers = int(np.searchsorted(np.cumsum(sizes), min(min_count, len(points)))) + 1
    assert layers.n_layers == expected_layers
    assert np.array_equal(layers.indices, np.flatnonzero(ranks < expected_layers))


@given(point_sets(objectives=(3,)))
def test_divide_and_conquer_fallback_matches_brute_force(monkeypatch_module, points):
    """With no shift budget the staircase ranking hands every M = 3 input to the divide-and-conquer kernel."""
    with monkeypatch_module.context() as patch:
        patch.setattr(dominance, "_STAIRCASE_MOVES_PER_POINT", -1)
        assert np.array_equal(pareto_ranks(points), brute.ranks(points))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.parametrize("distribution", ["uniform", "correlated", "anticorrelated", "ties"])
def test_large_inputs_agree_with_moocore(m, distribution):
    """Sizes past the direct path, checked against moocore (duplicates kept: keep_weakly=True)."""
    rng = np.random.default_rng(7)
    n = 30_000
    if distribution == "uniform":
        points = rng.random((n, m))
    elif distribution == "correlated":
        points = rng.random((n, 1)) + 0.1 * rng.standard_normal((n, m))
    elif distribution == "anticorrelated":
        points = rng.dirichlet(np.ones(m), n) * (1 + 0.05 * rng.standard_normal((n, 1)))
    else:
        points = rng.integers(0, 30, (n, m)).astype(float)
    ranks = moocore.pareto_rank(points, maximise=True)
    assert np.array_equal(pareto_ranks(points), ranks)
    assert np.array_equal(non_dominated(points), ranks == 0)
    layers = top_layers(points, 2_000)
    assert np.array_equal(layers.indices, np.flatnonzero(ranks < layers.n_layers))
    assert (ranks < layers.n_layers - 1).sum() < 2_000 <= layers.indices.size


def test_identical_points_share_a_rank_and_do_not_dominate_each_other():
    points = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [2.0, 0.0], [2.0, 0.0]])
    assert pareto_ranks(points).tolist() == [0, 0, 1, 0, 0]
    assert non_dominated(points).tolist() == [True, True, False, True, True]


def test_maximisation_convention():
    points = np.array([[3.0, 3.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 5.0]])
    assert pareto_ranks(points).tolist() == [0, 1, 0]


def test_top_layers_keeps_everything_when_the_pool_is_smaller_than_min_count():
    points = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    layers = top_layers(points, 10)
    assert layers.indices.tolist() == [0, 1, 2]
    assert layers.n_layers == 2


def test_top_layers_needs_exactly_one_of_its_limits():
    with pytest.raises(ValueError, match="exactly one of min_count or n_layers"):
        top_layers(np.eye(2))
    with pytest.raises(ValueError, match="exactly one of min_count or n_layers"):
        top_layers(np.eye(2), 1, n_layers=1)
    with pytest.raises(ValueError, match="min_count must be a positive integer; got 0"):
        top_layers(np.eye(2), 0)
