"""`paretohqd run`: a config in, a finished (or resumed) run folder out, with a summary of where things are (printed
once under `accelerate launch`, by the main process)."""

from __future__ import annotations

import os
from pathlib import Path

from paretohqd.config import RunConfig
from paretohqd.distributed import local_processes, print_main
from paretohqd.evaluate import evaluate
from paretohqd.methods import METHODS, Policy
from paretohqd.pipeline import prepare
from paretohqd.runs import Run


def run_pipeline(config: RunConfig, *, out: str | os.PathLike = "runs", force: bool = False, stop_after=None) -> Run:
    """Validate the config, open (or resume) OUT/<name>, and run the method; stop_after="select-1" stops after
    the stage-1 selection. Prints where the selections and adapters are."""
    import torch

    context = prepare(config)
    torch.set_num_threads(_threads(config))
    run = Run(Path(out) / config.name, config, force=force)
    method = METHODS[config.method]
    if stop_after == "select-1":
        if not hasattr(method, "select"):
            raise ValueError(f"method {config.method!r} has no per-preference selection to stop after")
        method.select(run, context)
        print_main(f"Selections: {run.root / 'selections' / 'stage1'} ({len(context.preferences)} preferences)")
        return run
    method.fit(run, context)
    print_main(f"Run folder: {run.root}")
    print_main(f"Selections: {run.root / 'selections'}")
    policies = method.policies(run, context)
    for weights, (label, policy) in zip(context.preferences, policies.items(), strict=True):
        tags = f" (prompt tags: {policy.prompt_tags})" if policy.prompt_tags else ""
        print_main(f"  {label} w={weights.round(3).tolist()}: {policy.adapter or 'base model'}{tags}")
    if config.eval.enabled:
        summarize(context, evaluate(run, context, ({"base": Policy(None)} if config.eval.base else {}) | policies))
        print_main(f"Evaluation: {run.root / 'eval'}")
    return run


def evaluate_run(root: str | os.PathLike) -> Run:
    """Evaluate (or finish evaluating) the preference models of a trained run, and the base model when the config
    asks for it; finished models are kept. The same for every method: it asks the method for its policies."""
    import torch

    run = Run.open(root)
    context = prepare(run.config)
    torch.set_num_threads(_threads(run.config))
    policies = METHODS[run.config.method].policies(run, context)
    missing = [p.adapter for p in policies.values() if p.adapter is not None and not Path(p.adapter).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"{run.root} has not finished training ({len(missing)} model(s) missing, e.g. {missing[0]}); "
            f"finish it with `paretohqd run` first"
        )
    base = {"base": Policy(None)} if run.config.eval.base else {}
    summarize(context, evaluate(run, context, base | policies))
    print_main(f"Evaluation: {run.root / 'eval'}")
    return run


def _threads(config: RunConfig) -> int:
    """config.threads, or this process's share of the machine's cores (all of them without `accelerate launch`)."""
    return config.threads or max(1, (os.cpu_count() or 1) // local_processes())


def summarize(context, points) -> None:
    """Print each model's point, and the hypervolume of the preference models' points normalised jointly with
    every evaluated point (reference: the per-objective minimum)."""
    import numpy as np

    from paretohqd.pareto import front_quality, joint_bounds

    names = context.objectives
    print_main(f"{'model':>8} {'preference':>16} " + " ".join(f"{n:>18}" for n in names) + "  collapsed")
    for p in points:
        pref = "-" if p.preference is None else "/".join(f"{w:.2f}" for w in p.preference)
        cells = " ".join(f"{m:>10.4f} ± {s:.4f}" for m, s in zip(p.mean, p.stderr, strict=True))
        print_main(f"{p.label:>8} {pref:>16} {cells}  {p.collapse_rate:8.1%}")
    models = np.array([p.mean for p in points if p.preference is not None])
    everything = np.array([p.mean for p in points])
    if len(models):
        quality = front_quality(models, joint_bounds({"all": everything}))
        print_main(
            f"Hypervolume of the preference models (min-max normalised with every evaluated model, reference at the "
            f"minimum): {quality.hypervolume:.4f}; non-dominated models: {quality.n_non_dominated}/{len(models)}"
        )
