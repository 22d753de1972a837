import numpy as np
import pytest

from paretohqd.pareto import front_quality, joint_bounds


def test_joint_normalisation_spans_the_union_of_all_methods():
    bounds = joint_bounds({"a": np.array([[0.0, 10.0], [2.0, 30.0]]), "b": np.array([[4.0, 20.0]])})
    assert bounds.lower.tolist() == [0.0, 10.0] and bounds.upper.tolist() == [4.0, 30.0]


def test_front_quality_on_a_hand_worked_set():
    points = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.25, 0.25]])  # the last one is dominated
    quality = front_quality(points, joint_bounds({"m": points}))
    # Reference at the per-objective minimum: (0, 1) and (1, 0) sit on it and add nothing; (0.5, 0.5) adds 0.25.
    assert quality.hypervolume == pytest.approx(0.25)
    assert quality.n_non_dominated == 3
    assert quality.max_gap == pytest.approx(np.sqrt(0.5))


def test_a_method_whose_points_are_all_better_has_more_volume():
    good = np.array([[0.9, 0.5], [0.5, 0.9]])
    bad = np.array([[0.6, 0.2], [0.2, 0.6]])
    bounds = joint_bounds({"good": good, "bad": bad})
    assert front_quality(good, bounds).hypervolume > front_quality(bad, bounds).hypervolume
    assert front_quality(good, bounds, reference=[0.0, 0.0]).max_gap > 0


def test_constant_objective_keeps_a_unit_span():
    bounds = joint_bounds({"m": np.array([[1.0, 3.0], [2.0, 3.0]])})
    assert bounds.upper.tolist() == [2.0, 4.0]
