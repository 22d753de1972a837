"""Every bad input to the Pareto core fails with a message naming the argument, its shape and the offending rows."""

import numpy as np
import pytest

from paretohqd.pareto import non_dominated, pareto_ranks, select_pareto_hqd, top_layers


@pytest.mark.parametrize("fn", [non_dominated, pareto_ranks, lambda p: top_layers(p, 2)])
@pytest.mark.parametrize(
    ("points", "message"),
    [
        (
            np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, np.inf]]),
            r"points contains NaN or inf in rows \[1, 2\] of shape \(3, 2\)",
        ),
        (np.arange(4.0), r"points must be 2-D with shape \(N, M\).*got ndim=1, shape=\(4,\)"),
        (np.zeros((5, 1)), r"points must have at least 2 objectives \(columns\); got shape \(5, 1\)"),
        (np.zeros((0, 3)), r"points is empty: shape \(0, 3\)"),
        ([["a", "b"]], r"points must be a numeric array of shape \(N, M\)"),
    ],
)
def test_bad_points_are_named(fn, points, message):
    with pytest.raises((ValueError, TypeError), match=message):
        fn(points)


def test_many_bad_rows_are_summarised():
    points = np.zeros((20, 2))
    points[3:12, 1] = np.nan
    with pytest.raises(ValueError, match=r"rows \[3, 4, 5, 6, 7\] and 4 more"):
        pareto_ranks(points)


def test_selection_validates_before_any_work():
    with pytest.raises(ValueError, match="each preference needs 2 weights"):
        select_pareto_hqd(np.eye(2), [1.0, 0.0, 0.0], 1)
    with pytest.raises(ValueError, match="metric must be one of"):
        select_pareto_hqd(np.eye(2), [1.0, 0.0], 1, metric="manhattan")
