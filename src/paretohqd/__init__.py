"""paretohqd: offline multi-objective alignment of language models with Pareto high-quality data (ParetoHqD).

Subpackages: `paretohqd.pareto` (the pure-numpy Pareto core). The core is imported on use so that the command line
starts fast.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("paretohqd")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
