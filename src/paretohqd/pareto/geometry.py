"""Preference geometry: normalisation, compromise points, preference rays and distances to them (maximisation).

Rewards are min-max normalised per objective, z = (r - lower) / (upper - lower), so the ideal point is z = 1. A
preference w (non-negative, sums to 1) gives the compromise point W = w in z-space (lower + w * (upper - lower) in raw
space) and the preference ray {1 + t (w - 1) : t >= 0}: it starts at the ideal point and passes through W, so a heavier
weight on objective i keeps the ray closer to the best value of objective i.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from paretohqd.checks import check_positive_int
from paretohqd.pareto import _kernels
from paretohqd.pareto._checks import check_points, check_vector
from paretohqd.pareto.preferences import check_preferences

METRICS = ("perpendicular", "angle")


@dataclass(frozen=True)
class Bounds:
    """Per-objective normalisation bounds, each (M,): `lower` maps to z = 0 and `upper` (the ideal point) to z = 1."""

    lower: np.ndarray
    upper: np.ndarray

    def __post_init__(self):
        lower = check_vector(self.lower, np.size(self.lower), "lower")
        upper = check_vector(self.upper, lower.size, "upper")
        flat = np.flatnonzero(upper <= lower)
        if flat.size:
            raise ValueError(
                f"objective(s) {flat.tolist()} have upper <= lower (lower={lower[flat].tolist()}, "
                f"upper={upper[flat].tolist()}): a constant objective cannot be normalised"
            )
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)

    def to_dict(self) -> dict:
        return {"lower": self.lower.tolist(), "upper": self.upper.tolist()}


def reward_bounds(points, quantiles: tuple[float, float] | None = None) -> Bounds:
    """Per-objective bounds of a pool (N, M): min and max, or the given (low, high) quantiles to resist outliers.

    A constant objective is an error: it carries no preference information and cannot be normalised.
    """
    pts = check_points(points)
    if quantiles is None:
        lower, upper = pts.min(axis=0), pts.max(axis=0)
    else:
        low, high = (float(q) for q in quantiles)
        if not 0.0 <= low < high <= 1.0:
            raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1; got {quantiles!r}")
        lower, upper = np.quantile(pts, [low, high], axis=0)
    return Bounds(lower, upper)


def normalize(points, bounds: Bounds) -> np.ndarray:
    """Min-max normalised points z (N, M); values outside [0, 1] stay (robust quantile bounds are not clipped)."""
    pts = check_points(points)
    _check_bounds(bounds, pts.shape[1])
    return (pts - bounds.lower) / (bounds.upper - bounds.lower)


def compromise_points(preferences, bounds: Bounds) -> np.ndarray:
    """Raw-space compromise points W = lower + w * (upper - lower), (K, M)."""
    m = bounds.lower.size
    prefs = check_preferences(preferences, m)
    return bounds.lower + prefs * (bounds.upper - bounds.lower)


def ray_directions(preferences, n_objectives: int) -> np.ndarray:
    """Unit directions (K, M) of the preference rays in z-space: (w - 1) / ||w - 1||."""
    prefs = check_preferences(preferences, n_objectives)
    direction = prefs - 1.0
    return direction / np.linalg.norm(direction, axis=1, keepdims=True)


def ray_distances(z, preferences, metric: str = "perpendicular") -> np.ndarray:
    """Distance (N, K) of every normalised point to every preference ray.

    perpendicular: with g = z - 1 and unit direction u, t = max(0, g.u) and d = ||g - t u||, the Euclidean distance
    to the ray (a point beyond the ideal point is measured to the ideal point itself). angle: the angle in radians
    between g and u (0 for the ideal point itself).
    """
    pts = check_points(z, name="z")
    check_metric(metric)
    units = ray_directions(preferences, pts.shape[1])
    out = np.empty((pts.shape[0], units.shape[0]))
    # Chunks keep the (rows, K, M) residual small; the residual is formed explicitly because sqrt(|g|^2 - t^2)
    # loses all precision for points near the ray.
    step = max(1, 2**22 // (units.shape[0] * pts.shape[1]))
    for lo in range(0, pts.shape[0], step):
        g = pts[lo : lo + step] - 1.0
        t = g @ units.T
        along = t if metric == "angle" else np.maximum(t, 0.0)
        residual = np.linalg.norm(g[:, None, :] - along[:, :, None] * units[None, :, :], axis=2)
        # atan2 of the perpendicular and parallel parts is accurate where arccos(cos) is not (near the ray).
        out[lo : lo + step] = np.arctan2(residual, t) if metric == "angle" else residual
    return out


def nearest_to_rays(z, preferences, k: int, metric: str = "perpendicular") -> tuple[np.ndarray, np.ndarray]:
    """Per preference, the k rows of the normalised points z (N, M) nearest its ray.

    Returns (indices, distances), each (K, k), nearest first, ties broken by the smaller index; the same distances
    as `ray_distances`, computed in one fused pass with a bounded heap per preference (no N x K matrix).
    """
    pts = check_points(z, name="z")
    k = check_positive_int(k, "k")
    check_metric(metric)
    if k > pts.shape[0]:
        raise ValueError(f"k={k} is larger than the number of points ({pts.shape[0]})")
    units = np.ascontiguousarray(ray_directions(preferences, pts.shape[1]))
    indices, keys = _kernels.ray_topk(pts, units, k, metric == "angle")
    return indices, (keys if metric == "angle" else np.sqrt(keys))


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}; got {metric!r}")
    return metric


def _check_bounds(bounds: Bounds, m: int) -> None:
    if not isinstance(bounds, Bounds):
        raise TypeError(f"bounds must be a Bounds (see reward_bounds); got {type(bounds).__name__}")
    if bounds.lower.size != m:
        raise ValueError(f"bounds have {bounds.lower.size} objectives but the points have {m}")
