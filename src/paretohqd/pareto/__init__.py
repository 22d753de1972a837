"""The Pareto core of paretohqd: pure numpy (+ numba) functions on reward arrays; no torch, no transformers.

Convention: every objective is **maximised** (larger rewards are better) throughout this package. Arrays of points
have shape (N, M): N samples, M objectives. Preferences have shape (K, M), one non-negative weight vector per row.
"""

from paretohqd.pareto.dominance import Layers, non_dominated, pareto_ranks, top_layers
from paretohqd.pareto.geometry import (
    Bounds,
    compromise_points,
    nearest_to_rays,
    normalize,
    ray_directions,
    ray_distances,
    reward_bounds,
)
from paretohqd.pareto.hypervolume import hypervolume
from paretohqd.pareto.metrics import FrontQuality, front_quality, joint_bounds, joint_reference
from paretohqd.pareto.preferences import RIC_GRID_3, check_preferences, preference_grid, simplex_lattice
from paretohqd.pareto.selection import Selection, select_pareto_hqd, select_scalarized

__all__ = [
    "RIC_GRID_3",
    "Bounds",
    "FrontQuality",
    "Layers",
    "Selection",
    "check_preferences",
    "compromise_points",
    "front_quality",
    "hypervolume",
    "joint_bounds",
    "joint_reference",
    "nearest_to_rays",
    "non_dominated",
    "normalize",
    "pareto_ranks",
    "preference_grid",
    "ray_directions",
    "ray_distances",
    "reward_bounds",
    "select_pareto_hqd",
    "select_scalarized",
    "simplex_lattice",
    "top_layers",
]
