"""`paretohqd run`: a config in, a finished (or resumed) run folder out, with a summary of where things are."""

from __future__ import annotations

import os
from pathlib import Path

from paretohqd.config import RunConfig
from paretohqd.methods import METHODS
from paretohqd.pipeline import prepare
from paretohqd.runs import Run


def run_pipeline(config: RunConfig, *, out: str | os.PathLike = "runs", force: bool = False, stop_after=None) -> Run:
    """Validate the config, open (or resume) OUT/<name>, and run the method; stop_after="select-1" stops after
    the stage-1 selection. Prints where the selections and adapters are."""
    import torch

    context = prepare(config)
    torch.set_num_threads(config.threads or os.cpu_count() or 1)
    run = Run(Path(out) / config.name, config, force=force)
    method = METHODS[config.method]
    if stop_after == "select-1":
        method.select(run, context)
        print(f"Selections: {run.root / 'selections' / 'stage1'} ({len(context.preferences)} preferences)")
        return run
    method.fit(run, context)
    print(f"Run folder: {run.root}")
    print(f"Selections: {run.root / 'selections'}")
    adapters = method.final_adapters(run, context)
    for weights, (label, path) in zip(context.preferences, adapters.items(), strict=True):
        print(f"  {label} w={weights.round(3).tolist()}: {path}")
    return run
