"""Ablation: ParetoHqD's two stages with linear-scalarised selection — per preference, the top-k samples of the
whole pool by w . z (z: min-max normalised rewards) instead of the top layers' samples nearest the preference ray.
Everything else (training, stage-2 generation and reselection, evaluation) is ParetoHqD's, so a difference in the
results is the selection rule's. Units and outputs: as `paretohqd.methods.paretohqd`.
"""

from __future__ import annotations

import numpy as np

from paretohqd.methods import paretohqd
from paretohqd.methods.base import Policy
from paretohqd.pareto import Bounds, Selection, select_scalarized
from paretohqd.pipeline import Context
from paretohqd.runs import Run


def scalarized_selector(context: Context) -> paretohqd.Selector:
    """Top-k by w . z with the run's normalisation settings (selection.quantiles)."""
    quantiles = context.config.selection.quantiles

    def choose(rewards: np.ndarray, preferences: np.ndarray, k: int, bounds: Bounds | None) -> Selection:
        return select_scalarized(rewards, preferences, k, bounds=bounds, quantiles=quantiles)

    return choose


def fit(run: Run, context: Context) -> None:
    """Both stages, selecting by linear scalarisation."""
    paretohqd.fit(run, context, scalarized_selector(context))


def policies(run: Run, context: Context) -> dict[str, Policy]:
    """Per preference, its final adapter."""
    return paretohqd.policies(run, context)
