import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import brute
from paretohqd.pareto import RIC_GRID_3, check_preferences, hypervolume, preference_grid, simplex_lattice


def test_paper_grid_for_two_objectives():
    grid = preference_grid(2)
    assert grid.shape == (11, 2)
    assert np.allclose(grid[:, 0], np.linspace(0, 1, 11))
    assert np.allclose(grid.sum(axis=1), 1)


def test_paper_grid_for_three_objectives_is_rics_thirteen_vectors():
    grid = preference_grid(3)
    assert grid.shape == (13, 3)
    assert np.allclose(grid, RIC_GRID_3 / RIC_GRID_3.sum(axis=1, keepdims=True))
    assert [1.0, 0.0, 0.0] in grid.tolist() and [0.0, 0.0, 1.0] in grid.tolist()


@pytest.mark.parametrize(("m", "d", "count"), [(2, 4, 5), (3, 3, 10), (4, 4, 35), (5, 2, 15)])
def test_simplex_lattice(m, d, count):
    grid = simplex_lattice(m, d)
    assert grid.shape == (count, m)
    assert np.allclose(grid.sum(axis=1), 1)
    assert np.allclose(grid * d, np.round(grid * d))
    assert len({tuple(r) for r in grid.tolist()}) == count
    assert np.array_equal(preference_grid(m, divisions=d), grid)


def test_preferences_are_normalised_to_sum_one():
    assert np.allclose(check_preferences([2, 1], 2), [[2 / 3, 1 / 3]])


@pytest.mark.parametrize(
    ("prefs", "message"),
    [
        ([0.5, 0.3, 0.2], r"each preference needs 2 weights \(one per objective\); got shape \(1, 3\)"),
        ([[0.5, np.nan]], r"preferences must be finite; rows \[0\] are not"),
        ([[1.0, 0.0], [0.5, -0.1]], r"weights must be >= 0; rows \[1\] have negative weights"),
        ([[0.0, 0.0]], r"at least one positive weight; rows \[0\] are all zero"),
        (np.zeros((0, 2)), r"with K >= 1; got shape \(0, 2\)"),
    ],
)
def test_bad_preferences_are_named(prefs, message):
    with pytest.raises(ValueError, match=message):
        check_preferences(prefs, 2)


@st.composite
def small_sets(draw):
    m = draw(st.integers(2, 4))
    n = draw(st.integers(1, 7))
    return draw(arrays(np.float64, (n, m), elements=st.floats(-1, 3, allow_nan=False)))


@given(small_sets())
def test_hypervolume_matches_inclusion_exclusion(points):
    reference = np.zeros(points.shape[1])
    assert hypervolume(points, reference) == pytest.approx(brute.hypervolume(points, reference), abs=1e-9)


def test_points_that_do_not_dominate_the_reference_add_nothing():
    reference = np.array([0.0, 0.0])
    assert hypervolume([[2.0, 3.0]], reference) == pytest.approx(6.0)
    assert hypervolume([[2.0, 3.0], [5.0, 0.0], [-1.0, 9.0]], reference) == pytest.approx(6.0)
    assert hypervolume([[-1.0, 9.0]], reference) == 0.0


def test_hypervolume_reference_is_validated():
    with pytest.raises(ValueError, match=r"reference must have shape \(2,\)"):
        hypervolume([[1.0, 1.0]], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="reference must be finite"):
        hypervolume([[1.0, 1.0]], [0.0, np.inf])
