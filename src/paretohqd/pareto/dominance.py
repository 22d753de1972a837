"""Dominance, Pareto ranks (non-dominated sorting) and the top layers of a point set.

Maximisation: `a` dominates `b` iff a >= b in every objective and a > b in at least one. Identical points do not
dominate each other, so they always share a rank.

Algorithms: M = 2 ranks by patience sorting, O(N log N); M = 3 by divide and conquer with a Fenwick tree,
O(N log^2 N) whatever the number of fronts; M >= 4 delegates full ranking to moocore. First fronts (M = 2, 3) use one
O(N log N) sweep. Large inputs go through a candidate filter first: the points with the smallest normalised sum of
(negated) objectives form a set that contains every dominator of its members, so ranks computed inside it are exact;
every other point is either certified deep enough by one dominance check or added to the exact computation.
"""

from __future__ import annotations

from dataclasses import dataclass

import moocore
import numpy as np

from paretohqd.pareto import _kernels
from paretohqd.pareto._checks import check_points, check_positive_int

# Inputs with at most this many points (or twice the candidate budget) are ranked directly.
_DIRECT_LIMIT = 4096
_MIN_CANDIDATES = 1024


@dataclass(frozen=True)
class Layers:
    """The top Pareto layers of a point set.

    indices: (P,) ascending row indices of the points in the layers; ranks: (P,) their Pareto rank (0 = first front);
    n_layers: how many layers were kept.
    """

    indices: np.ndarray
    ranks: np.ndarray
    n_layers: int


def non_dominated(points) -> np.ndarray:
    """Boolean mask (N,) of the points no other point dominates (the first front; duplicates all kept)."""
    y = -check_points(points)
    n = y.shape[0]
    if n <= _DIRECT_LIMIT:
        return _exact_front(y)
    candidates = _candidates(y, _MIN_CANDIDATES)
    front = candidates[_exact_front(y[candidates])]
    rest = _survivors(y, candidates, front)
    mask = np.zeros(n, dtype=bool)
    if rest.size:
        union = np.concatenate([candidates, rest])
        mask[union[_exact_front(y[union])]] = True
    else:
        mask[front] = True
    return mask


def pareto_ranks(points) -> np.ndarray:
    """Pareto rank (N,) int64 of every point: 0 for the first front, r for points left after removing fronts < r."""
    return _exact_ranks(-check_points(points))


def top_layers(points, min_count: int | None = None, *, n_layers: int | None = None) -> Layers:
    """The fewest top layers holding at least `min_count` points, or exactly the top `n_layers` layers.

    When the whole set holds fewer than `min_count` points, every layer is returned. Only as many layers as needed
    are computed: large inputs are ranked on a candidate subset (see the module docstring), not in full.
    """
    if (min_count is None) == (n_layers is None):
        raise ValueError("top_layers needs exactly one of min_count or n_layers")
    y = -check_points(points)
    if n_layers is not None:
        n_layers = check_positive_int(n_layers, "n_layers")
        ranks = _exact_ranks(y)
        keep = np.flatnonzero(ranks < n_layers)
        return Layers(keep, ranks[keep], int(min(n_layers, ranks.max() + 1)))
    min_count = check_positive_int(min_count, "min_count")
    n = y.shape[0]
    budget = max(4 * min_count, _MIN_CANDIDATES)
    if n <= max(_DIRECT_LIMIT, 2 * budget):
        return _cut(np.arange(n), _exact_ranks(y), min_count)
    candidates = _candidates(y, budget)
    inner = _cut(candidates, _exact_ranks(y[candidates]), min_count)
    # Outside points dominated by a point of the deepest kept layer lie deeper than every kept layer.
    deepest = inner.indices[inner.ranks == inner.n_layers - 1]
    rest = _survivors(y, candidates, deepest)
    if rest.size == 0:
        return inner
    union = np.sort(np.concatenate([candidates, rest]))
    # Ranks inside `union` are exact below inner.n_layers, and the layers there only grow: cut again.
    return _cut(union, _exact_ranks(y[union]), min_count)


def _cut(indices: np.ndarray, ranks: np.ndarray, min_count: int) -> Layers:
    """Keep the fewest layers (by rank) of `indices` whose sizes add up to at least `min_count`."""
    sizes = np.bincount(ranks)
    reached = np.flatnonzero(np.cumsum(sizes) >= min_count)
    n_layers = int(reached[0]) + 1 if reached.size else sizes.size
    keep = ranks < n_layers
    order = np.argsort(indices[keep], kind="stable")
    return Layers(indices[keep][order], ranks[keep][order], n_layers)


def _candidates(y: np.ndarray, budget: int) -> np.ndarray:
    """Ascending indices of (about) the `budget` points with the smallest min-max normalised sum.

    Float rounding keeps the sum monotone, so every point that dominates a candidate has a smaller or equal sum and
    is a candidate too (ties at the threshold are all included).
    """
    low = y.min(axis=0)
    span = y.max(axis=0) - low
    span[span == 0] = 1.0
    score = ((y - low) / span).sum(axis=1)
    threshold = np.partition(score, budget - 1)[budget - 1]
    return np.flatnonzero(score <= threshold)


def _survivors(y: np.ndarray, candidates: np.ndarray, blockers: np.ndarray) -> np.ndarray:
    """Indices outside `candidates` that no point of `blockers` dominates."""
    outside = np.ones(y.shape[0], dtype=bool)
    outside[candidates] = False
    outside = np.flatnonzero(outside)
    block = y[blockers]
    # Blockers with a small sum dominate the most points: trying them first ends most checks early.
    block = np.ascontiguousarray(block[np.argsort(block.sum(axis=1))])
    return outside[~_kernels.dominated_by_any(y[outside], block)]


def _lexsort(y: np.ndarray) -> np.ndarray:
    """Order of rows sorted lexicographically ascending, first column primary.

    One argsort of the first column suffices when it has no ties (continuous rewards); only then fall back to a full
    lexicographic sort, which costs one stable sort per column.
    """
    order = np.argsort(y[:, 0])
    first = y[order, 0]
    if (first[1:] == first[:-1]).any():
        order = np.lexsort(y.T[::-1])
    return order


def _dense_rank(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(dense 0-based ranks, sorting order, number of distinct values) of a 1-D array."""
    order = np.argsort(values)
    ranks, n_distinct = _kernels.dense_rank(values, order)
    return ranks, order, n_distinct


def _exact_front(y: np.ndarray) -> np.ndarray:
    """Non-dominated mask of minimisation rows `y` (any M)."""
    m = y.shape[1]
    if m >= 4:
        return moocore.is_nondominated(y, keep_weakly=True)
    order = _lexsort(y)
    ordered = np.ascontiguousarray(y[order])
    if m == 2:
        sorted_mask = _kernels.front_2d(ordered)
    else:
        y_rank, _, n_y = _dense_rank(np.ascontiguousarray(ordered[:, 1]))
        sorted_mask = _kernels.front_3d(ordered, y_rank, n_y)
    mask = np.empty(y.shape[0], dtype=bool)
    mask[order] = sorted_mask
    return mask


def _exact_ranks(y: np.ndarray) -> np.ndarray:
    """Pareto ranks of minimisation rows `y` (any M); duplicates share a rank."""
    m = y.shape[1]
    if m >= 4:
        return moocore.pareto_rank(y).astype(np.int64)
    order = _lexsort(y)
    if m == 2:
        return _kernels.ranks_2d(y, order)
    ordered = y[order]
    first = np.ones(ordered.shape[0], dtype=bool)
    first[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    unique = ordered[first]
    y_rank, by_y, _ = _dense_rank(np.ascontiguousarray(unique[:, 1]))
    z_rank, by_z, _ = _dense_rank(np.ascontiguousarray(unique[:, 2]))
    unique_ranks = _kernels.ranks_3d(y_rank, z_rank, by_y.astype(np.int32), by_z.astype(np.int32))
    ranks = np.empty(y.shape[0], dtype=np.int64)
    ranks[order] = unique_ranks[np.cumsum(first) - 1]
    return ranks
