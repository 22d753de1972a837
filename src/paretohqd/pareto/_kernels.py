"""numba kernels behind `dominance` and `selection`.

Every kernel here works on *minimisation* arrays (the public functions negate the maximised rewards once) whose rows
are sorted lexicographically ascending and, where the docstring says so, unique. In that order a point can only be
dominated by points that come before it, which is what makes the single sweeps below correct.

Kernels are compiled on first use and cached on disk (`cache=True`); numba falls back to a user-wide cache directory
when the package directory is read-only.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Segments of the divide-and-conquer ranking at or below this size are ranked by brute force.
_LEAF = 64


@njit(cache=True, nogil=True)
def ranks_2d(points, order):
    """Pareto ranks of minimisation rows (N, 2) visited in `order` (lexicographic, ascending); O(N log N).

    Patience sorting: front f keeps the y of the last point it received; front f dominates the next distinct point
    iff that y <= the point's y (the point's x is >= every earlier x). Dominated fronts form a prefix, so a binary
    search finds the point's front. Identical rows are adjacent in `order` and share a rank.
    """
    n = points.shape[0]
    last_y = np.empty(n)
    ranks = np.empty(n, np.int64)
    n_fronts = 0
    prev = -1
    for t in range(n):
        i = order[t]
        yi = points[i, 1]
        if prev >= 0 and points[i, 0] == points[prev, 0] and yi == points[prev, 1]:
            ranks[i] = ranks[prev]
            continue
        lo = 0
        hi = n_fronts
        while lo < hi:
            mid = (lo + hi) >> 1
            if last_y[mid] <= yi:
                lo = mid + 1
            else:
                hi = mid
        ranks[i] = lo
        last_y[lo] = yi
        if lo == n_fronts:
            n_fronts += 1
        prev = i
    return ranks


@njit(cache=True, nogil=True)
def front_2d(sorted_points):
    """Non-dominated mask of rows sorted by (x, y) ascending (duplicates allowed: they share their status)."""
    n = sorted_points.shape[0]
    out = np.zeros(n, np.bool_)
    best_y = np.inf
    for i in range(n):
        x = sorted_points[i, 0]
        y = sorted_points[i, 1]
        if i > 0 and x == sorted_points[i - 1, 0] and y == sorted_points[i - 1, 1]:
            out[i] = out[i - 1]
            continue
        if best_y > y:
            out[i] = True
            best_y = y
    return out


@njit(cache=True, nogil=True)
def front_3d(sorted_points, y_rank, n_y):
    """Non-dominated mask of rows sorted by (x, y, z) ascending (duplicates allowed); O(N log N).

    A Fenwick tree over the y ranks holds the prefix minimum of z among the front found so far: a point is dominated
    iff some earlier point has y <= its y and z <= its z.
    """
    n = sorted_points.shape[0]
    out = np.zeros(n, np.bool_)
    tree = np.full(n_y + 1, np.inf)
    for i in range(n):
        if (
            i > 0
            and sorted_points[i, 0] == sorted_points[i - 1, 0]
            and sorted_points[i, 1] == sorted_points[i - 1, 1]
            and sorted_points[i, 2] == sorted_points[i - 1, 2]
        ):
            out[i] = out[i - 1]
            continue
        z = sorted_points[i, 2]
        j = y_rank[i] + 1
        best = np.inf
        while j > 0:
            if tree[j] < best:
                best = tree[j]
            j -= j & -j
        if best <= z:
            continue
        out[i] = True
        j = y_rank[i] + 1
        while j <= n_y:
            if z < tree[j]:
                tree[j] = z
            j += j & -j
    return out


@njit(cache=True, nogil=True)
def _fenwick_max_query(tree, pos):
    """Max over positions 0..pos of a Fenwick prefix-max tree (-1 when empty)."""
    best = -1
    j = pos + 1
    while j > 0:
        if tree[j] > best:
            best = tree[j]
        j -= j & -j
    return best


@njit(cache=True, nogil=True)
def _fenwick_max_update(tree, pos, value, size):
    j = pos + 1
    while j <= size:
        if value > tree[j]:
            tree[j] = value
        j += j & -j


@njit(cache=True, nogil=True)
def _fenwick_reset(tree, pos, size):
    j = pos + 1
    while j <= size:
        tree[j] = -1
        j += j & -j


@njit(cache=True, nogil=True)
def ranks_3d(y_rank, z_rank, by_y, by_z):
    """Pareto ranks of unique rows sorted by (x, y, z) ascending; O(N log^2 N) whatever the number of fronts.

    y_rank, z_rank: dense ranks of the y and z columns; by_y, by_z: all row positions sorted by y and by z.
    rank(p) = 1 + max rank of the points dominating p. Divide and conquer over the sorted order, left half first:
    once the left half's ranks are final, one sweep by y with a Fenwick prefix-max passes them to the right half,
    which is then solved the same way. Each node gets its rows in y and in z order by a stable split of its parent's
    lists (nothing is sorted twice), and its Fenwick tree is indexed by z position among the left half's rows only,
    so trees are small and stay in cache.
    """
    n = y_rank.size
    rank = np.zeros(n, np.int32)
    tree = np.full(n // 2 + 2, -1, np.int32)
    local = np.empty(n, np.int32)
    depth = 1
    size = n
    while size > _LEAF:
        size = (size + 1) >> 1
        depth += 1
    # levels_*[d, lo:hi] hold the rows of the depth-d node [lo, hi) in y / z order; nodes of one depth are disjoint.
    levels_y = np.empty((depth + 1, n), np.int32)
    levels_z = np.empty((depth + 1, n), np.int32)
    levels_y[0] = by_y
    levels_z[0] = by_z
    # Explicit stack of (lo, hi, depth, phase): phase 0 = solve, phase 1 = left solved -> pass its ranks right.
    stack = np.empty((2 * depth + 4, 4), np.int64)
    stack[0, 0] = 0
    stack[0, 1] = n
    stack[0, 2] = 0
    stack[0, 3] = 0
    top = 1
    while top > 0:
        top -= 1
        lo = stack[top, 0]
        hi = stack[top, 1]
        d = stack[top, 2]
        phase = stack[top, 3]
        mid = (lo + hi) >> 1
        if phase == 0:
            if hi - lo <= _LEAF:
                for i in range(lo, hi):
                    for j in range(lo, i):
                        if y_rank[j] <= y_rank[i] and z_rank[j] <= z_rank[i] and rank[j] + 1 > rank[i]:
                            rank[i] = rank[j] + 1
                continue
            _split(levels_y, d, lo, mid, hi)
            _split(levels_z, d, lo, mid, hi)
            stack[top, 3] = 1
            stack[top + 1, 0] = lo
            stack[top + 1, 1] = mid
            stack[top + 1, 2] = d + 1
            stack[top + 1, 3] = 0
            top += 2
            continue
        # Positions in z order among the left rows: a left row gets the position of the first left row with its z,
        # a right row the position of the last left row with z <= its z (-1 when there is none).
        count = 0
        t = lo
        while t < hi:
            end = t
            while end < hi and z_rank[levels_z[d, end]] == z_rank[levels_z[d, t]]:
                end += 1
            first = count
            for u in range(t, end):
                v = levels_z[d, u]
                if v < mid:
                    local[v] = first
                    count += 1
            for u in range(t, end):
                v = levels_z[d, u]
                if v >= mid:
                    local[v] = count - 1
            t = end
        size = mid - lo
        i = lo
        for r in range(mid, hi):
            p = levels_y[d + 1, r]
            while i < mid and y_rank[levels_y[d + 1, i]] <= y_rank[p]:
                q = levels_y[d + 1, i]
                _fenwick_max_update(tree, local[q], rank[q], size)
                i += 1
            if local[p] >= 0:
                best = _fenwick_max_query(tree, local[p])
                if best + 1 > rank[p]:
                    rank[p] = best + 1
        for u in range(lo, i):
            _fenwick_reset(tree, local[levels_y[d + 1, u]], size)
        stack[top, 0] = mid
        stack[top, 1] = hi
        stack[top, 2] = d + 1
        stack[top, 3] = 0
        top += 1
    return rank


@njit(cache=True, nogil=True)
def _split(levels, d, lo, mid, hi):
    """Stable split of levels[d, lo:hi] into rows < mid and rows >= mid, written to levels[d + 1, lo:hi]."""
    left = lo
    right = mid
    for t in range(lo, hi):
        v = levels[d, t]
        if v < mid:
            levels[d + 1, left] = v
            left += 1
        else:
            levels[d + 1, right] = v
            right += 1


@njit(cache=True, nogil=True)
def dense_rank(values, order):
    """Dense 0-based ranks of `values` given `order`, a permutation sorting them; returns (ranks, n_distinct)."""
    n = values.size
    ranks = np.empty(n, np.int32)
    current = -1
    for t in range(n):
        i = order[t]
        if t == 0 or values[i] != values[order[t - 1]]:
            current += 1
        ranks[i] = current
    return ranks, current + 1


@njit(cache=True, nogil=True)
def dominated_by_any(points, dominators):
    """Mask of rows of `points` strictly dominated (minimisation) by at least one row of `dominators`."""
    n, m = points.shape
    out = np.zeros(n, np.bool_)
    for i in range(n):
        for f in range(dominators.shape[0]):
            weakly = True
            strictly = False
            for j in range(m):
                a = dominators[f, j]
                b = points[i, j]
                if a > b:
                    weakly = False
                    break
                if a < b:
                    strictly = True
            if weakly and strictly:
                out[i] = True
                break
    return out


@njit(cache=True, nogil=True)
def ray_topk(z, directions, k, angle):
    """Per direction, the k rows of `z` closest to the ray from the ideal point 1 along that unit direction.

    z: (N, M) normalised points; directions: (K, M) unit vectors. Returns (indices, keys), each (K, k), sorted by key
    then index, where key is the squared perpendicular distance, or the angle in radians when `angle` is set.
    One pass over the points with a bounded max-heap per direction: O(N K M + N K log k) time, O(K k) memory.
    """
    n, m = z.shape
    n_dir = directions.shape[0]
    heap_key = np.full((n_dir, k), np.inf)
    heap_idx = np.full((n_dir, k), -1, np.int64)
    g = np.empty(m)
    for i in range(n):
        for j in range(m):
            g[j] = z[i, j] - 1.0
        for p in range(n_dir):
            t = 0.0
            for j in range(m):
                t += g[j] * directions[p, j]
            along = t if (angle or t > 0.0) else 0.0
            # The residual itself, not |g|^2 - t^2, which cancels catastrophically near the ray.
            key = 0.0
            for j in range(m):
                r = g[j] - along * directions[p, j]
                key += r * r
            if angle:
                key = np.arctan2(np.sqrt(key), t)
            # Equal keys keep the earlier (smaller) index: a later point must be strictly closer to enter.
            if key < heap_key[p, 0]:
                _heap_replace_root(heap_key[p], heap_idx[p], key, i)
    for p in range(n_dir):
        by_idx = np.argsort(heap_idx[p])
        order = by_idx[np.argsort(heap_key[p][by_idx], kind="mergesort")]
        heap_key[p] = heap_key[p][order]
        heap_idx[p] = heap_idx[p][order]
    return heap_idx, heap_key


@njit(cache=True, nogil=True)
def _heap_replace_root(keys, idx, key, i):
    """Replace the root of a max-heap ordered by (key, idx) and restore the heap property."""
    k = keys.size
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= k:
            break
        other = child + 1
        if other < k and (keys[other] > keys[child] or (keys[other] == keys[child] and idx[other] > idx[child])):
            child = other
        if keys[child] > key or (keys[child] == key and idx[child] > i):
            keys[pos] = keys[child]
            idx[pos] = idx[child]
            pos = child
        else:
            break
    keys[pos] = key
    idx[pos] = i
