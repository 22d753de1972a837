"""paretohqd: offline multi-objective alignment of language models with Pareto high-quality data (ParetoHqD).

Modules: `pareto` (the numpy/numba Pareto core: dominance, layers, preference rays, selection, hypervolume),
`rewards` (reward models by name), `data` (tasks, loaders, scored pools), `models`, `generate`, `train`, `config`,
`runs`, `methods` (one module per alignment method), `evaluate`, `executors` (local or Ray), `distributed` (under
`accelerate launch`), `workflow` and `cli`. Nothing heavy is imported here, so the command line starts fast.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("paretohqd")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
