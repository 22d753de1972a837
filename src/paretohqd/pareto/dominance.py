"""Dominance, Pareto ranks (non-dominated sorting) and the top layers of a point set.

Maximisation: `a` dominates `b` iff a >= b in every objective and a > b in at least one. Identical points do not
dominate each other, so they always share a rank.

Algorithms (M = 2 and 3): sort the points once, then one sweep that places each point in its front by a binary
search over the fronts (patience sorting for M = 2; a (y, z) staircase per front for M = 3), O(N log N) in practice.
If M = 3 staircases grow long enough to approach the sweep's O(N^2) worst case, ranking switches to divide and
conquer, O(N log^2 N) whatever the data. The sweep can stop building fronts after the first L, which is how the
first front and the top layers are computed without ranking everything; L for the top layers comes from a
candidate subset (the points with the smallest normalised sum of negated objectives), which contains every
dominator of its members, so its layers are exact and bound the number needed (for M = 2, one dominance check
against the candidates' deepest kept layer then rules out most other points without sorting them). M >= 4
delegates to moocore: full ranking, the first front, and the top layers peeled one front at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import moocore
import numpy as np

from paretohqd.checks import check_positive_int
from paretohqd.pareto import _kernels
from paretohqd.pareto._checks import check_points

# top_layers ranks inputs with at most this many points (or twice the candidate budget) directly.
_DIRECT_LIMIT = 4096
_MIN_CANDIDATES = 1024
# The staircase sweep (M = 3) hands over to divide and conquer once inserts have shifted this many entries per
# point on average: staircases that long mean its O(N^2) worst case is near.
_STAIRCASE_MOVES_PER_POINT = 1024


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
    return _exact_ranks(-check_points(points), max_fronts=1) == 0


def pareto_ranks(points) -> np.ndarray:
    """Pareto rank (N,) int64 of every point: 0 for the first front, r for points left after removing fronts < r."""
    return _exact_ranks(-check_points(points))


def top_layers(points, min_count: int | None = None, *, n_layers: int | None = None) -> Layers:
    """The fewest top layers holding at least `min_count` points, or exactly the top `n_layers` layers.

    When the whole set holds fewer than `min_count` points, every layer is returned. Only as many layers as needed
    are computed (see the module docstring).
    """
    if (min_count is None) == (n_layers is None):
        raise ValueError("top_layers needs exactly one of min_count or n_layers")
    y = -check_points(points)
    n, m = y.shape
    if n_layers is not None:
        n_layers = check_positive_int(n_layers, "n_layers")
    else:
        min_count = check_positive_int(min_count, "min_count")
    if m >= 4:
        return _peel(y, min_count or n, n_layers or n)
    if n_layers is not None:
        ranks = _exact_ranks(y, max_fronts=n_layers)
        keep = np.flatnonzero(ranks < n_layers)
        return Layers(keep, ranks[keep], int(ranks[keep].max()) + 1)
    budget = max(4 * min_count, _MIN_CANDIDATES)
    if n <= max(_DIRECT_LIMIT, 2 * budget):
        return _cut(np.arange(n), _exact_ranks(y), min_count)
    # The candidates' own top layers already hold min_count points; the whole set's can only need fewer layers.
    candidates = _candidates(y, budget)
    inner = _cut(candidates, _exact_ranks(y[candidates]), min_count)
    if m == 3:
        return _cut(np.arange(n), _exact_ranks(y, max_fronts=inner.n_layers), min_count)
    # M = 2: without sorting everything. An outside point dominated by a point of the deepest kept layer lies below
    # every kept layer; the others join the candidates, whose ranks stay exact below inner.n_layers.
    deepest = y[inner.indices[inner.ranks == inner.n_layers - 1]]
    outside = np.setdiff1d(np.arange(n), candidates, assume_unique=True)
    blocked = _kernels.dominated_2d(np.take(y, outside, axis=0), deepest[np.lexsort(deepest.T[::-1])])
    union = np.union1d(candidates, outside[~blocked])
    return _cut(union, _exact_ranks(y[union]), min_count)


def _peel(y: np.ndarray, min_count: int, n_layers: int) -> Layers:
    """Top layers by removing one front at a time (moocore's is_nondominated), until either limit is reached."""
    left = np.arange(y.shape[0])
    kept, ranks = [], []
    count = 0
    while left.size and count < min_count and len(kept) < n_layers:
        front = moocore.is_nondominated(y[left], keep_weakly=True)
        kept.append(left[front])
        ranks.append(np.full(kept[-1].size, len(kept) - 1))
        count += kept[-1].size
        left = left[~front]
    indices = np.concatenate(kept)
    order = np.argsort(indices)
    return Layers(indices[order], np.concatenate(ranks)[order], len(kept))


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
    score = _kernels.normalized_sums(y)
    threshold = np.partition(score, budget - 1)[budget - 1]
    return np.flatnonzero(score <= threshold)


def _lexsort(y: np.ndarray) -> np.ndarray:
    """Order of rows sorted lexicographically ascending, first column primary.

    One argsort of the first column suffices when it has no ties (continuous rewards); only then fall back to a full
    lexicographic sort, which costs one stable sort per column.
    """
    order = np.argsort(y[:, 0])
    first = np.take(y[:, 0], order)
    if (first[1:] == first[:-1]).any():
        order = np.lexsort(y.T[::-1])
    return order


def _exact_ranks(y: np.ndarray, max_fronts: int | None = None) -> np.ndarray:
    """Pareto ranks of minimisation rows `y` (any M); duplicates share a rank.

    With `max_fronts`, ranks are exact below it and every deeper point gets `max_fronts` (cheaper for M <= 3).
    """
    n, m = y.shape
    cap = n if max_fronts is None else max_fronts
    if m >= 4:
        if cap == 1:
            return np.where(moocore.is_nondominated(y, keep_weakly=True), 0, 1)
        return np.minimum(moocore.pareto_rank(y).astype(np.int64), cap)
    order = _lexsort(y)
    ordered = np.take(y, order, axis=0)  # np.take: several times faster than y[order] for row gathers
    ranks = np.empty(n, dtype=np.int64)
    if m == 2:
        ranks[order] = _kernels.ranks_2d(ordered, cap)
        return ranks
    sorted_ranks, ok = _kernels.ranks_3d_staircase(ordered, cap, _STAIRCASE_MOVES_PER_POINT * n)
    if not ok:
        sorted_ranks = np.minimum(_ranks_3d_divide_and_conquer(ordered), cap)
    ranks[order] = sorted_ranks
    return ranks


def _ranks_3d_divide_and_conquer(ordered: np.ndarray) -> np.ndarray:
    """Ranks of lexicographically sorted minimisation rows (N, 3) by divide and conquer, O(N log^2 N)."""
    first = np.ones(ordered.shape[0], dtype=bool)
    first[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    unique = ordered[first]
    y_rank, by_y = _dense_rank(np.ascontiguousarray(unique[:, 1]))
    z_rank, by_z = _dense_rank(np.ascontiguousarray(unique[:, 2]))
    unique_ranks = _kernels.ranks_3d(y_rank, z_rank, by_y.astype(np.int32), by_z.astype(np.int32))
    return unique_ranks[np.cumsum(first) - 1].astype(np.int64)


def _dense_rank(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dense 0-based ranks, sorting order) of a 1-D array."""
    order = np.argsort(values)
    return _kernels.dense_rank(values, order), order
