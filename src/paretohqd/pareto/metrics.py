"""Quality of a set of preference models' points (maximisation): hypervolume after joint normalisation, the number
of non-dominated points, how evenly (largest gap, for two objectives) and how widely (coverage) the front spreads;
plus the shared raw-space reference point under which several methods' raw hypervolumes are comparable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from paretohqd.pareto._checks import check_points, check_vector
from paretohqd.pareto.dominance import non_dominated
from paretohqd.pareto.geometry import Bounds, normalize
from paretohqd.pareto.hypervolume import hypervolume


@dataclass(frozen=True)
class FrontQuality:
    """hypervolume: of the normalised points w.r.t. `reference` (normalised space); n_non_dominated: how many of the
    points no other point of the same set dominates; max_gap: for M = 2, the largest distance between neighbouring
    non-dominated points (normalised space), None otherwise; coverage: per objective (M,), the extent (max - min)
    of the non-dominated points in normalised space, 1 when a method's front spans everything compared."""

    hypervolume: float
    n_non_dominated: int
    max_gap: float | None
    coverage: tuple[float, ...]


def joint_bounds(point_sets: Mapping[str, np.ndarray]) -> Bounds:
    """Per-objective min and max over the union of several sets of points (each (K_i, M)); a constant objective
    gets a unit span so that normalising keeps it at 0."""
    union = np.vstack([check_points(p, name=f"points of {name!r}") for name, p in point_sets.items()])
    lower, upper = union.min(axis=0), union.max(axis=0)
    return Bounds(lower, np.where(upper > lower, upper, lower + 1.0))


def joint_reference(point_sets: Mapping[str, np.ndarray], reference=None) -> np.ndarray:
    """Raw-space reference point (M,) for the hypervolumes of several sets of points (each (K_i, M)): `reference`
    when given (one value per objective), else the per-objective minimum over the union of all sets.

    With the default, every point except those at some objective's minimum adds volume; a given reference is
    taken as is: points that do not exceed it in every objective add nothing (see `hypervolume`).
    """
    union = np.vstack([check_points(p, name=f"points of {name!r}") for name, p in point_sets.items()])
    if reference is None:
        return union.min(axis=0)
    return check_vector(reference, union.shape[1], "reference")


def front_quality(points, bounds: Bounds, reference=None) -> FrontQuality:
    """Quality of one set of points (K, M), normalised with `bounds` (e.g. `joint_bounds` of all compared methods).

    reference: in normalised space; default the origin (the per-objective minimum over the jointly normalised
    points), so every point except those at some objective's minimum adds volume.
    """
    z = normalize(points, bounds)
    ref = np.zeros(z.shape[1]) if reference is None else np.asarray(reference, dtype=float)
    front = z[non_dominated(z)]
    gap = None
    if z.shape[1] == 2:
        ordered = front[np.lexsort((front[:, 1], front[:, 0]))]
        gap = float(np.linalg.norm(np.diff(ordered, axis=0), axis=1).max()) if len(ordered) > 1 else 0.0
    coverage = tuple(float(c) for c in front.max(axis=0) - front.min(axis=0))
    return FrontQuality(hypervolume(z, ref), int(len(front)), gap, coverage)
