import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import brute
from paretohqd.pareto import (
    Bounds,
    compromise_points,
    nearest_to_rays,
    normalize,
    ray_directions,
    ray_distances,
    reward_bounds,
)


def test_single_objective_preferences_give_axis_rays():
    # w = (1, 0) keeps objective 1 at its best and runs down objective 2; w = (0, 1) the other way round.
    assert np.allclose(ray_directions([1, 0], 2), [[0.0, -1.0]])
    assert np.allclose(ray_directions([0, 1], 2), [[-1.0, 0.0]])


def test_balanced_ray_is_the_diagonal_and_heavier_weights_stay_closer_to_their_best():
    assert np.allclose(ray_directions([0.5, 0.5], 2), [[-1 / np.sqrt(2), -1 / np.sqrt(2)]])
    u = ray_directions([0.8, 0.2], 2)[0]
    assert abs(u[0]) < abs(u[1])  # objective 1 (weight 0.8) falls away from its best more slowly


def test_hand_worked_perpendicular_distances():
    z = np.array([[1.0, 0.3], [0.5, 0.5], [0.2, 0.2], [1.0, 0.0], [1.2, 1.2]])
    d = ray_distances(z, [[1.0, 0.0], [0.5, 0.5]])
    assert d[0, 0] == pytest.approx(0.0)  # on the w = (1, 0) ray
    assert d[1, 0] == pytest.approx(0.5)
    assert d[2, 1] == pytest.approx(0.0)  # on the balanced ray
    assert d[3, 1] == pytest.approx(np.sqrt(0.5))
    assert d[4, 1] == pytest.approx(np.sqrt(0.08))  # beyond the ideal point: distance to the ideal point itself


def test_angle_metric():
    z = np.array([[0.2, 0.2], [1.0, 0.0], [1.0, 1.0]])
    a = ray_distances(z, [0.5, 0.5], metric="angle")[:, 0]
    assert a == pytest.approx([0.0, np.pi / 4, 0.0])


@given(
    arrays(np.float64, (12, 3), elements=st.floats(0, 1, allow_nan=False)),
    arrays(np.float64, (4, 3), elements=st.floats(0, 1, allow_nan=False)),
)
def test_distances_match_the_closed_form_projection(z, raw_prefs):
    prefs = raw_prefs + 1e-3
    prefs /= prefs.sum(axis=1, keepdims=True)
    d = ray_distances(z, prefs)
    expected = np.array([[brute.ray_distance(p, w) for w in prefs] for p in z])
    assert np.allclose(d, expected, atol=1e-9)


@given(
    arrays(np.float64, (20, 2), elements=st.floats(-50, 50, allow_nan=False)),
    st.tuples(st.floats(0.01, 100), st.floats(0.01, 100)),
    st.tuples(st.floats(-100, 100), st.floats(-100, 100)),
)
def test_z_space_distances_are_invariant_to_scaling_and_shifting_each_objective(points, scale, shift):
    points[0] = [-60, -60]
    points[1] = [60, 60]  # keep both objectives non-constant
    prefs = [[0.2, 0.8], [0.5, 0.5], [1.0, 0.0]]
    base = ray_distances(normalize(points, reward_bounds(points)), prefs)
    moved = points * np.array(scale) + np.array(shift)
    assert np.allclose(ray_distances(normalize(moved, reward_bounds(moved)), prefs), base, atol=1e-9)


def test_normalisation_and_compromise_points():
    points = np.array([[0.0, 10.0], [4.0, 30.0], [2.0, 20.0]])
    bounds = reward_bounds(points)
    assert bounds.lower.tolist() == [0.0, 10.0] and bounds.upper.tolist() == [4.0, 30.0]
    assert np.allclose(normalize(points, bounds), [[0, 0], [1, 1], [0.5, 0.5]])
    assert np.allclose(compromise_points([[0.25, 0.75]], bounds), [[1.0, 25.0]])


def test_robust_quantile_bounds_ignore_an_outlier():
    points = np.vstack([np.linspace([0, 0], [1, 1], 1001), [[1e6, 0.5]]])
    bounds = reward_bounds(points, quantiles=(0.001, 0.999))
    assert bounds.upper[0] < 2.0


def test_constant_objective_is_an_error():
    with pytest.raises(ValueError, match=r"objective\(s\) \[1\] have upper <= lower"):
        reward_bounds(np.array([[0.0, 1.0], [2.0, 1.0]]))


def test_bad_quantiles_and_mismatched_bounds():
    with pytest.raises(ValueError, match="quantiles must satisfy 0 <= low < high <= 1"):
        reward_bounds(np.eye(2), quantiles=(0.9, 0.1))
    with pytest.raises(ValueError, match="bounds have 3 objectives but the points have 2"):
        normalize(np.eye(2), Bounds([0, 0, 0], [1, 1, 1]))
    with pytest.raises(ValueError, match="metric must be one of"):
        ray_distances(np.eye(2), [0.5, 0.5], metric="cosine")


@given(
    arrays(np.float64, (40, 3), elements=st.floats(0, 1, allow_nan=False)),
    st.integers(1, 40),
    st.sampled_from(["perpendicular", "angle"]),
)
def test_nearest_to_rays_is_the_sorted_head_of_the_distance_matrix(z, k, metric):
    prefs = [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]]
    full = ray_distances(z, prefs, metric=metric)
    indices, distances = nearest_to_rays(z, prefs, k, metric=metric)
    for row in range(len(prefs)):
        assert np.allclose(distances[row], full[indices[row], row], atol=1e-9)
        assert np.all(np.diff(distances[row]) >= 0)
        rest = np.setdiff1d(np.arange(len(z)), indices[row])
        assert full[rest, row].min(initial=np.inf) >= distances[row].max() - 1e-9
