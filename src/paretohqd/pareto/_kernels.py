"""numba kernels behind `dominance` and `selection`.

The dominance kernels work on *minimisation* arrays (the public functions negate the maximised rewards once) whose
rows are sorted lexicographically ascending and, where the docstring says so, unique. In that order a point can only
be dominated by points that come before it, which is what makes the single sweeps below correct.

Kernels are compiled on first use and cached on disk (`cache=True`); numba falls back to a user-wide cache directory
when the package directory is read-only.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Segments of the divide-and-conquer ranking at or below this size are ranked by brute force.
_LEAF = 64


@njit(cache=True, nogil=True)
def ranks_2d(sorted_points, max_fronts):
    """Pareto ranks of minimisation rows (N, 2) sorted lexicographically ascending; O(N log N).

    Patience sorting: front f keeps the y of the last point it received; front f dominates the next distinct point
    iff that y <= the point's y (the point's x is >= every earlier x). Dominated fronts form a prefix, so a binary
    search finds the point's front. Identical rows are adjacent and share a rank. Only the first `max_fronts` fronts
    are built: deeper points get rank `max_fronts`.
    """
    n = sorted_points.shape[0]
    last_y = np.empty(n)
    ranks = np.empty(n, np.int64)
    n_fronts = 0
    for i in range(n):
        yi = sorted_points[i, 1]
        if i > 0 and sorted_points[i, 0] == sorted_points[i - 1, 0] and yi == sorted_points[i - 1, 1]:
            ranks[i] = ranks[i - 1]
            continue
        f = _count_at_most(last_y, n_fronts, yi)
        ranks[i] = f
        if f == max_fronts:
            continue
        last_y[f] = yi
        if f == n_fronts:
            n_fronts += 1
    return ranks


@njit(cache=True, nogil=True)
def ranks_3d_staircase(sorted_points, max_fronts, max_moves):
    """Pareto ranks of minimisation rows (N, 3) sorted lexicographically ascending.

    Efficient non-dominated sort with binary search over fronts: the fronts that dominate the next point form a
    prefix, and front f dominates a point iff its staircase -- the (y, z) minima of its points so far, y ascending
    and z descending -- has an entry with y <= the point's y and z <= its z, one binary search. Fast when staircases
    stay short (the usual case); inserting into a long staircase shifts entries, so the kernel gives up after
    `max_moves` shifted entries and returns ok=False, and the caller falls back to `ranks_3d`.
    Returns (ranks, ok). Identical rows are adjacent and share a rank. Only the first `max_fronts` fronts are built:
    deeper points get rank `max_fronts`.
    """
    n = sorted_points.shape[0]
    # All staircases live in one pool: front f owns pool[start[f] : start[f] + capacity[f]], of which the first
    # size[f] entries are used. A full staircase moves to the pool's end with twice the room.
    pool_y = np.empty(4 * n + 64)
    pool_z = np.empty(4 * n + 64)
    used = 0
    start = np.zeros(n + 1, np.int64)
    capacity = np.zeros(n + 1, np.int64)
    sizes = np.zeros(n + 1, np.int64)
    ranks = np.empty(n, np.int64)
    n_fronts = 0
    moves = 0
    for i in range(n):
        yi = sorted_points[i, 1]
        zi = sorted_points[i, 2]
        if (
            i > 0
            and sorted_points[i, 0] == sorted_points[i - 1, 0]
            and yi == sorted_points[i - 1, 1]
            and zi == sorted_points[i - 1, 2]
        ):
            ranks[i] = ranks[i - 1]
            continue
        lo = 0
        hi = n_fronts
        while lo < hi:
            f = (lo + hi) >> 1
            ys = pool_y[start[f] : start[f] + sizes[f]]
            pos = _count_at_most(ys, ys.size, yi)
            if pos > 0 and pool_z[start[f] + pos - 1] <= zi:
                lo = f + 1
            else:
                hi = f
        f = lo
        ranks[i] = f
        if f == max_fronts:
            continue
        if f == n_fronts:
            n_fronts += 1
        size = sizes[f]
        if size == capacity[f]:
            room = max(16, 2 * capacity[f])
            if used + room > pool_y.size:
                pool_y = _grow(pool_y, used, used + room)
                pool_z = _grow(pool_z, used, used + room)
            pool_y[used : used + size] = pool_y[start[f] : start[f] + size]
            pool_z[used : used + size] = pool_z[start[f] : start[f] + size]
            start[f] = used
            capacity[f] = room
            used += room
        ys = pool_y[start[f] : start[f] + size + 1]
        zs = pool_z[start[f] : start[f] + size + 1]
        # Entries from the first y >= yi on whose z >= zi are now dominated in (y, z): the new point replaces them.
        pos = _count_below(ys, size, yi)
        end = pos
        while end < size and zs[end] >= zi:
            end += 1
        if end > pos:
            gap = end - pos - 1
            if gap > 0:
                for t in range(end, size):
                    ys[t - gap] = ys[t]
                    zs[t - gap] = zs[t]
                moves += size - end
            sizes[f] = size - gap
        else:
            for t in range(size, pos, -1):
                ys[t] = ys[t - 1]
                zs[t] = zs[t - 1]
            sizes[f] = size + 1
            moves += size - pos
        ys[pos] = yi
        zs[pos] = zi
        if moves > max_moves:
            return ranks, False
    return ranks, True


@njit(cache=True, nogil=True)
def _count_at_most(values, size, x):
    """Number of leading entries of the ascending values[:size] that are <= x."""
    lo = 0
    hi = size
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _count_below(values, size, x):
    """Number of leading entries of the ascending values[:size] that are < x."""
    lo = 0
    hi = size
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _grow(values, used, needed):
    """A copy of values[:used] in a larger array with room for at least `needed` entries."""
    out = np.empty(max(needed, 2 * values.size))
    out[:used] = values[:used]
    return out


@njit(cache=True, nogil=True)
def dominated_2d(points, blockers):
    """Mask (N,) of minimisation rows of `points` (any order) dominated by a row of `blockers`; O((N + B) log B).

    blockers: (B, 2) sorted by x ascending. Prefix minima of y over the blockers with x < p.x, and with x <= p.x,
    answer "is there a blocker <= p, not equal to p" with two binary searches and no sort of the points.
    """
    n_blockers = blockers.shape[0]
    xs = blockers[:, 0].copy()
    prefix_min_y = np.empty(n_blockers)
    best = np.inf
    for b in range(n_blockers):
        best = min(best, blockers[b, 1])
        prefix_min_y[b] = best
    out = np.zeros(points.shape[0], np.bool_)
    for i in range(points.shape[0]):
        x = points[i, 0]
        y = points[i, 1]
        at_most = _count_at_most(xs, n_blockers, x)
        if at_most and prefix_min_y[at_most - 1] < y:
            out[i] = True
            continue
        below = _count_below(xs, n_blockers, x)
        out[i] = below > 0 and prefix_min_y[below - 1] <= y
    return out


@njit(cache=True, nogil=True)
def normalized_sums(points):
    """Row sums (N,) of the min-max normalised columns (constant columns count 0); monotone under dominance."""
    n, m = points.shape
    low = points[0].copy()
    high = points[0].copy()
    for i in range(n):
        for j in range(m):
            v = points[i, j]
            if v < low[j]:
                low[j] = v
            if v > high[j]:
                high[j] = v
    scale = np.zeros(m)
    for j in range(m):
        if high[j] > low[j]:
            scale[j] = 1.0 / (high[j] - low[j])
    out = np.empty(n)
    for i in range(n):
        total = 0.0
        for j in range(m):
            total += (points[i, j] - low[j]) * scale[j]
        out[i] = total
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
    """Dense 0-based ranks (N,) int32 of `values`, given `order`, a permutation sorting them."""
    n = values.size
    ranks = np.empty(n, np.int32)
    current = -1
    for t in range(n):
        i = order[t]
        if t == 0 or values[i] != values[order[t - 1]]:
            current += 1
        ranks[i] = current
    return ranks


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
        _sort_pairs(heap_key[p], heap_idx[p])
    return heap_idx, heap_key


@njit(cache=True, nogil=True)
def _sort_pairs(keys, idx):
    """Sort (key, idx) pairs ascending in place; insertion sort: k is small, and it compiles fast."""
    for i in range(1, keys.size):
        key = keys[i]
        j_idx = idx[i]
        j = i - 1
        while j >= 0 and (keys[j] > key or (keys[j] == key and idx[j] > j_idx)):
            keys[j + 1] = keys[j]
            idx[j + 1] = idx[j]
            j -= 1
        keys[j + 1] = key
        idx[j + 1] = j_idx


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
