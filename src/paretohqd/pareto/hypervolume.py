"""Hypervolume of a set of points (maximisation), exact, via moocore."""

from __future__ import annotations

import moocore

from paretohqd.pareto._checks import check_points, check_vector


def hypervolume(points, reference) -> float:
    """Volume of the region dominated by `points` (N, M) and bounded below by `reference` (M,).

    Larger is better in every objective. Points that do not strictly exceed the reference point in every objective
    add nothing (their box is empty), so choose a reference below every point you want counted.
    """
    pts = check_points(points)
    ref = check_vector(reference, pts.shape[1], "reference")
    inside = (pts > ref).all(axis=1)
    if not inside.any():
        return 0.0
    return float(moocore.hypervolume(pts[inside], ref=ref, maximise=True))
