"""Ablation: ParetoHqD without stage 2 — each preference's model is its stage-1 adapter, trained on the top-layer
samples nearest its ray and nothing else. The run does only what that needs (pool, select-1, train-1/pref-XX), so
its compute is stage 1's. Outputs: as `paretohqd.methods.paretohqd`, stage 1 only.
"""

from __future__ import annotations

from dataclasses import replace

from paretohqd.methods import paretohqd
from paretohqd.methods.base import Policy
from paretohqd.pipeline import Context
from paretohqd.runs import Run


def _stage1(context: Context) -> Context:
    config = context.config
    return replace(context, config=replace(config, stage2=replace(config.stage2, enabled=False)))


def fit(run: Run, context: Context) -> None:
    """ParetoHqD's stage 1 for every preference."""
    paretohqd.fit(run, _stage1(context))


def policies(run: Run, context: Context) -> dict[str, Policy]:
    """Per preference, its stage-1 adapter."""
    return paretohqd.policies(run, context, stage=1)
