"""Input validation at the boundary of the Pareto core: every public function calls these once."""

from __future__ import annotations

import numpy as np

from paretohqd.checks import describe_rows


def check_points(points, name: str = "points", min_objectives: int = 2) -> np.ndarray:
    """Return `points` as a C-contiguous float64 array of shape (N, M) with N >= 1, M >= 2, all finite."""
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array of shape (N, M); got {type(points).__name__}") from exc
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (N, M) (one row per point); got ndim={arr.ndim}, shape={arr.shape}"
        )
    n, m = arr.shape
    if n == 0:
        raise ValueError(f"{name} is empty: shape {arr.shape}; at least one point is needed")
    if m < min_objectives:
        raise ValueError(f"{name} must have at least {min_objectives} objectives (columns); got shape {arr.shape}")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise ValueError(f"{name} contains NaN or inf in {describe_rows(np.flatnonzero(bad))} of shape {arr.shape}")
    return np.ascontiguousarray(arr)


def check_vector(vector, m: int, name: str) -> np.ndarray:
    """Return `vector` as a finite float64 array of shape (m,)."""
    arr = np.asarray(vector, dtype=np.float64)
    if arr.shape != (m,):
        raise ValueError(f"{name} must have shape ({m},) to match {m} objectives; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite; got {arr.tolist()}")
    return arr
