"""Preference vectors: validation and the grids used in the paper."""

from __future__ import annotations

from itertools import combinations

import numpy as np

# The 13 preference vectors of Rewards-in-Context for three objectives, used by the ParetoHqD paper.
RIC_GRID_3 = np.array(
    [
        [0.0, 0.0, 1.0],
        [0.0, 1.0, 0.0],
        [0.1, 0.1, 0.8],
        [0.1, 0.8, 0.1],
        [0.2, 0.2, 0.6],
        [0.2, 0.4, 0.4],
        [0.2, 0.6, 0.2],
        [0.33, 0.33, 0.33],
        [0.4, 0.4, 0.2],
        [0.4, 0.2, 0.4],
        [0.6, 0.2, 0.2],
        [0.8, 0.1, 0.1],
        [1.0, 0.0, 0.0],
    ]
)


def check_preferences(preferences, n_objectives: int) -> np.ndarray:
    """Validate preference vectors and return them as (K, M) float64 rows normalised to sum 1.

    Accepts one vector (M,) or a matrix (K, M). Every weight must be finite and >= 0, and each vector must have a
    positive sum; vectors that do not sum to 1 are divided by their sum (so (2, 1) means (2/3, 1/3)).
    """
    try:
        prefs = np.asarray(preferences, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"preferences must be numeric, shape (M,) or (K, M); got {preferences!r}") from exc
    if prefs.ndim == 1:
        prefs = prefs[None, :]
    if prefs.ndim != 2 or prefs.shape[0] == 0:
        raise ValueError(f"preferences must have shape (M,) or (K, M) with K >= 1; got shape {prefs.shape}")
    if prefs.shape[1] != n_objectives:
        raise ValueError(f"each preference needs {n_objectives} weights (one per objective); got shape {prefs.shape}")
    bad = ~np.isfinite(prefs).all(axis=1)
    if bad.any():
        raise ValueError(f"preferences must be finite; rows {np.flatnonzero(bad).tolist()} are not")
    bad = (prefs < 0).any(axis=1)
    if bad.any():
        raise ValueError(f"preference weights must be >= 0; rows {np.flatnonzero(bad).tolist()} have negative weights")
    sums = prefs.sum(axis=1)
    bad = sums <= 0
    if bad.any():
        raise ValueError(
            f"a preference needs at least one positive weight; rows {np.flatnonzero(bad).tolist()} are all zero"
        )
    return prefs / sums[:, None]


def simplex_lattice(n_objectives: int, divisions: int) -> np.ndarray:
    """All weight vectors (K, M) with entries in {0, 1/d, ..., 1} summing to 1; K = C(d + M - 1, M - 1).

    Rows are in ascending lexicographic order, so for M = 2 the first weight runs from 0 to 1.
    """
    if n_objectives < 2:
        raise ValueError(f"n_objectives must be >= 2; got {n_objectives}")
    if divisions < 1:
        raise ValueError(f"divisions must be >= 1; got {divisions}")
    rows = []
    # Stars and bars: choose M - 1 bar positions among d + M - 1 slots.
    for bars in combinations(range(divisions + n_objectives - 1), n_objectives - 1):
        edges = (-1, *bars, divisions + n_objectives - 1)
        rows.append([edges[i + 1] - edges[i] - 1 for i in range(n_objectives)])
    grid = np.array(rows, dtype=np.float64) / divisions
    return grid[np.lexsort(grid.T[::-1])]


def preference_grid(n_objectives: int, divisions: int | None = None) -> np.ndarray:
    """The preference grid (K, M) of the paper, or a simplex lattice when `divisions` is given.

    Defaults: M = 2 -> w1 in {0, 0.1, ..., 1} (11 vectors); M = 3 -> the 13 Rewards-in-Context vectors (rows sum to
    0.99 for the balanced one and are returned normalised); M >= 4 -> the lattice with `divisions = M`.
    """
    if divisions is not None:
        return simplex_lattice(n_objectives, divisions)
    if n_objectives == 2:
        return simplex_lattice(2, 10)
    if n_objectives == 3:
        return check_preferences(RIC_GRID_3, 3)
    return simplex_lattice(n_objectives, n_objectives)
