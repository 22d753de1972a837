"""What every method shares: the task, objectives, preference vectors and the scored pool of a run.

`prepare(config)` checks everything that can be checked before any training (unknown task or reward, preference
vectors of the wrong length, k too large for the pool, a missing base model) and fails with one clear message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from paretohqd import distributed
from paretohqd.config import RunConfig
from paretohqd.data import Task, get_task
from paretohqd.data.scoring import ScoredPool, score_pool
from paretohqd.pareto import check_preferences, preference_grid
from paretohqd.runs import Run


@dataclass(frozen=True)
class Context:
    """A run's shared inputs. preferences: (K, M) normalised weight vectors, in config order."""

    config: RunConfig
    task: Task
    preferences: np.ndarray

    @property
    def objectives(self) -> tuple[str, ...]:
        return self.task.objectives

    def label(self, index: int) -> str:
        """Folder-safe name of preference `index`: pref-00, pref-01, ..."""
        return f"pref-{index:02d}"


def prepare(config: RunConfig) -> Context:
    """Resolve and validate a config into a Context (no model is loaded, no data is scored)."""
    if config.executor == "ray" and distributed.launched():
        raise ValueError(
            "executor: ray does not run under `accelerate launch`: Ray spreads a run's models over devices, accelerate "
            "one model over several; use executor: local with accelerate"
        )
    task = get_task(config.task, config.objectives)
    m = len(task.objectives)
    if config.preferences is not None:
        try:
            preferences = check_preferences(np.array(config.preferences, dtype=float), m)
        except ValueError as exc:
            raise ValueError(f"config.preferences: {exc}") from exc
    else:
        preferences = preference_grid(m, config.divisions)
    _check_model(config.model.name_or_path)
    return Context(config, task, preferences)


def _check_model(name_or_path: str) -> None:
    """A local-looking model path must exist; hub ids are checked when loaded."""
    from paretohqd.models import EMBEDDED_MODEL, embedded_gguf

    if name_or_path == EMBEDDED_MODEL:
        embedded_gguf()
    elif name_or_path.startswith((".", "/", "~")) and not Path(name_or_path).expanduser().exists():
        raise FileNotFoundError(f"config.model.name_or_path: no model folder {name_or_path}")


def prompt_options(context: Context) -> dict:
    """The run's data options that prompt loaders take too (the data source)."""
    return {k: v for k, v in context.config.data.items() if k == "source"}


def scored_pool(run: Run, context: Context) -> ScoredPool:
    """The task's pool scored under the run's objectives (cached inside the run folder)."""
    samples = context.task.load_pool(**context.config.data)
    return score_pool(samples, context.objectives, run.root / "pools")


def selection_frame(pool: pd.DataFrame, indices: np.ndarray, keys: np.ndarray, objectives) -> pd.DataFrame:
    """The selected rows of a pool (prompt, response, rewards, pool row, sort key), in selection order."""
    rows = pool.iloc[indices][["prompt", "response", *objectives]].copy()
    rows.insert(0, "pool_row", indices)
    rows["key"] = keys
    return rows.reset_index(drop=True)
