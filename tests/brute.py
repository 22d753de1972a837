"""Brute-force reference implementations (O(N^2) and worse) used as the specification in property tests."""

from itertools import combinations

import numpy as np


def dominance_matrix(points: np.ndarray) -> np.ndarray:
    """D[i, j] = point i dominates point j (maximisation)."""
    p = np.asarray(points, dtype=float)
    ge = (p[:, None, :] >= p[None, :, :]).all(axis=2)
    gt = (p[:, None, :] > p[None, :, :]).any(axis=2)
    return ge & gt


def ranks(points: np.ndarray) -> np.ndarray:
    """Peel fronts one at a time: rank r = non-dominated among the points left after removing ranks < r."""
    dom = dominance_matrix(points)
    n = len(points)
    out = np.full(n, -1)
    left = np.ones(n, dtype=bool)
    r = 0
    while left.any():
        front = left & ~(dom & left[:, None]).any(axis=0)
        out[front] = r
        left &= ~front
        r += 1
    return out


def ray_distance(z: np.ndarray, w: np.ndarray) -> float:
    """Distance from z to the ray {1 + t (w - 1): t >= 0}, by minimising over t in closed form, written plainly."""
    origin = np.ones_like(z)
    direction = w - origin
    t = max(0.0, float(np.dot(z - origin, direction) / np.dot(direction, direction)))
    return float(np.linalg.norm(z - (origin + t * direction)))


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """Inclusion-exclusion over the boxes [reference, p] (maximisation); exponential, for tiny sets only."""
    pts = [p for p in np.asarray(points, dtype=float)]
    total = 0.0
    for size in range(1, len(pts) + 1):
        for subset in combinations(pts, size):
            corner = np.min(subset, axis=0)
            total += (-1) ** (size + 1) * np.prod(np.clip(corner - reference, 0.0, None))
    return total
