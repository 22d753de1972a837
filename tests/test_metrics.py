import numpy as np
import pytest

from paretohqd.pareto import Bounds, front_quality, hypervolume, joint_bounds
from paretohqd.pareto.metrics import joint_reference


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


def test_the_default_reference_is_the_per_objective_minimum_over_every_method():
    reference = joint_reference({"a": np.array([[1.0, 5.0], [3.0, 2.0]]), "b": np.array([[2.0, 4.0]])})
    assert reference.tolist() == [1.0, 2.0]


def test_a_given_reference_is_used_as_is():
    reference = joint_reference({"a": np.array([[1.0, 5.0]])}, reference=[-1, 0.5])
    assert reference.tolist() == [-1.0, 0.5]


def test_a_reference_of_the_wrong_length_is_an_error():
    with pytest.raises(ValueError, match=r"reference must have shape \(2,\) to match 2 objectives; got shape \(3,\)"):
        joint_reference({"a": np.array([[1.0, 5.0]])}, reference=[0.0, 0.0, 0.0])


def test_raw_hypervolume_of_a_staircase_by_hand():
    points = np.array([[3.0, 1.0], [2.0, 2.0], [1.0, 3.0]])
    # Columns of width 1 from x = 0: heights 3, 2, 1.
    assert hypervolume(points, joint_reference({"m": points}, reference=[0.0, 0.0])) == pytest.approx(6.0)
    # At the joint minimum (1, 1) only (2, 2) exceeds the reference in both objectives: a unit square.
    assert hypervolume(points, joint_reference({"m": points})) == pytest.approx(1.0)


def test_points_that_do_not_improve_on_the_reference_add_nothing():
    points = np.array([[3.0, 1.0], [2.0, 2.0], [1.0, 3.0]])
    # x = 1 is below the reference's 1.5: (1, 3) adds nothing; the boxes of (2, 2) and (3, 1) cover 0.5*2 + 1*1.
    assert hypervolume(points, [1.5, 0.0]) == pytest.approx(2.0)
    assert hypervolume(points, [5.0, 5.0]) == 0.0


def test_raw_and_normalised_volumes_differ_by_the_product_of_the_spans_at_the_joint_minimum():
    a = np.array([[10.0, 0.1], [30.0, 0.05]])
    b = np.array([[20.0, 0.3], [0.0, 0.2]])
    sets = {"a": a, "b": b}
    bounds, reference = joint_bounds(sets), joint_reference(sets)
    span = np.prod(bounds.upper - bounds.lower)  # 30 * 0.25
    for points in (a, b):
        assert hypervolume(points, reference) == pytest.approx(front_quality(points, bounds).hypervolume * span)
    # b by hand: (20, 0.3) and (0, 0.2) relative to (0, 0.05): 20 * 0.25 (the second box has zero width).
    assert hypervolume(b, reference) == pytest.approx(5.0)


def test_coverage_is_the_extent_of_the_non_dominated_points_per_objective():
    unit = Bounds(np.zeros(2), np.ones(2))
    full = front_quality(np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.25, 0.25]]), unit)
    assert full.coverage == pytest.approx((1.0, 1.0))
    # The dominated (0.1, 0.1) does not widen the front: only (0.2, 0.8) and (0.6, 0.4) count.
    narrow = front_quality(np.array([[0.2, 0.8], [0.6, 0.4], [0.1, 0.1]]), unit)
    assert narrow.coverage == pytest.approx((0.4, 0.4))
    assert narrow.max_gap == pytest.approx(np.sqrt(0.32))


def test_a_single_non_dominated_point_covers_nothing():
    quality = front_quality(np.array([[0.7, 0.7], [0.5, 0.6]]), Bounds(np.zeros(2), np.ones(2)))
    assert quality.n_non_dominated == 1
    assert quality.coverage == (0.0, 0.0) and quality.max_gap == 0.0


def test_three_objective_coverage_and_no_gap():
    points = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.5], [0.5, 0.5, 0.5], [0.0, 0.0, 0.2]])  # the last is dominated
    quality = front_quality(points, Bounds(np.zeros(3), np.ones(3)))
    assert quality.n_non_dominated == 3
    assert quality.coverage == pytest.approx((1.0, 1.0, 0.5))
    assert quality.max_gap is None
