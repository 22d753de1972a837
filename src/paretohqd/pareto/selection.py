"""Per-preference training-set selection: ParetoHqD (top layers + closest to the ray) and the linear ablation."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from paretohqd.checks import check_positive_int
from paretohqd.pareto._checks import check_points
from paretohqd.pareto.dominance import top_layers
from paretohqd.pareto.geometry import Bounds, check_metric, nearest_to_rays, normalize, reward_bounds
from paretohqd.pareto.preferences import check_preferences


@dataclass(frozen=True)
class Selection:
    """Selected samples per preference.

    indices: (K, k) row indices into the pool, best first (ties broken by the smaller index).
    keys: (K, k) what the rows are sorted by, ascending: the distance to the preference ray for ParetoHqD
        (perpendicular, or the angle in radians), the negated scalarised score -w.z for the linear ablation.
    preferences: (K, M) normalised preference vectors.
    candidates: ascending indices of the pool the selection drew from (the top layers for ParetoHqD).
    n_layers: number of Pareto layers in `candidates` (0 when no layer filter was applied).
    bounds: the normalisation used.
    """

    indices: np.ndarray
    keys: np.ndarray
    preferences: np.ndarray
    candidates: np.ndarray
    n_layers: int
    bounds: Bounds


def select_pareto_hqd(
    points,
    preferences,
    k: int,
    *,
    pool_factor: float | None = 3.0,
    layers: int | None = None,
    metric: str = "perpendicular",
    bounds: Bounds | None = None,
    quantiles: tuple[float, float] | None = None,
) -> Selection:
    """ParetoHqD selection: per preference, the k points of the top Pareto layers closest to its ray.

    points: (N, M) raw rewards of the pool (larger is better). The high-quality pool is the fewest top layers
    holding at least ceil(pool_factor * k) points (all layers if the pool is smaller), or exactly `layers` layers
    when given. Distances are measured in z-space with `bounds` (default: min-max of the whole pool, or the given
    quantiles).
    """
    pts = check_points(points)
    k = check_positive_int(k, "k")
    prefs = check_preferences(preferences, pts.shape[1])
    check_metric(metric)
    if k > pts.shape[0]:
        raise ValueError(f"k={k} is larger than the pool ({pts.shape[0]} points)")
    if layers is not None:
        hq = top_layers(pts, n_layers=layers)
    else:
        if pool_factor is None or not pool_factor >= 1:
            raise ValueError(f"pool_factor must be >= 1 (or give layers); got {pool_factor!r}")
        hq = top_layers(pts, min_count=min(math.ceil(pool_factor * k), pts.shape[0]))
    if k > hq.indices.size:
        raise ValueError(
            f"k={k} is larger than the {hq.indices.size} points in the top {hq.n_layers} Pareto layer(s); "
            "lower k or keep more layers"
        )
    bounds = bounds if bounds is not None else reward_bounds(pts, quantiles)
    local, distances = nearest_to_rays(normalize(pts[hq.indices], bounds), prefs, k, metric)
    return Selection(hq.indices[local], distances, prefs, hq.indices, hq.n_layers, bounds)


def select_scalarized(
    points,
    preferences,
    k: int,
    *,
    bounds: Bounds | None = None,
    quantiles: tuple[float, float] | None = None,
) -> Selection:
    """Linear-scalarisation ablation: per preference, the top-k points of the whole pool by w . z."""
    pts = check_points(points)
    k = check_positive_int(k, "k")
    prefs = check_preferences(preferences, pts.shape[1])
    if k > pts.shape[0]:
        raise ValueError(f"k={k} is larger than the pool ({pts.shape[0]} points)")
    bounds = bounds if bounds is not None else reward_bounds(pts, quantiles)
    keys = -(normalize(pts, bounds) @ prefs.T).T
    # A stable sort breaks ties toward the smaller index, like the ray selection.
    indices = np.argsort(keys, axis=1, kind="stable")[:, :k]
    return Selection(indices, np.take_along_axis(keys, indices, axis=1), prefs, np.arange(pts.shape[0]), 0, bounds)
