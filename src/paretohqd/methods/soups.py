"""Rewarded Soups (Ramé et al., 2023): one model per objective, then, for a preference w, the weights
interpolated: theta_w = sum_i w_i theta_i. Each objective's model is fine-tuned (LoRA, from the same seeded init, so
the interpolation stays in one basin) on the top-k samples of the pool by that objective's reward, for as many steps
as a ParetoHqD preference model gets in total. The interpolation is over the LoRA tensors themselves (A and B
separately), as Rewarded Soups does with its LoRA checkpoints; w must sum to 1, which the preference grid ensures.

Units: pool, select-soups, train-soups/<objective>, mix/pref-XX. Outputs: selections/soups/<objective>.jsonl,
adapters/soups/<objective>/, adapters/soups/mix/pref-XX/ (an adapter folder like any other, with soup.json saying
which adapters it mixes and how).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from paretohqd.executors import executor_for
from paretohqd.methods import paretohqd
from paretohqd.methods.base import Policy
from paretohqd.pipeline import Context, selection_frame
from paretohqd.runs import Run

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"


def top_k_per_objective(rewards: np.ndarray, k: int) -> np.ndarray:
    """(M, k) row indices: for each objective, the k samples with the highest reward (ties: the smaller index)."""
    if not 0 < k <= len(rewards):
        raise ValueError(f"k={k} must be in [1, {len(rewards)}] (the pool size)")
    return np.argsort(-rewards, axis=0, kind="stable")[:k].T


def interpolate(states: Sequence[Mapping[str, object]], weights: Sequence[float]) -> dict:
    """sum_i weights[i] * states[i], tensor by tensor. Every state must hold the same tensor names and shapes."""
    if len(states) != len(weights) or not states:
        raise ValueError(f"need one weight per state dict; got {len(states)} states and {len(weights)} weights")
    names = set(states[0])
    for i, state in enumerate(states[1:], start=1):
        if set(state) != names:
            raise ValueError(f"state dict {i} holds other tensors than state dict 0: {sorted(names ^ set(state))[:3]}")
    mixed = {}
    for name in states[0]:
        shapes = {tuple(state[name].shape) for state in states}
        if len(shapes) > 1:
            raise ValueError(f"tensor {name!r} has different shapes across the soup's ingredients: {shapes}")
        mixed[name] = sum(float(w) * state[name] for w, state in zip(weights, states, strict=True))
    return mixed


def mix_adapters(adapters: Sequence[str | Path], weights: Sequence[float], out_dir: str | Path) -> Path:
    """Write the adapter sum_i weights[i] * adapters[i] into out_dir (all LoRA adapters of one shape)."""
    from safetensors.torch import load_file, save_file

    out_dir = Path(out_dir)
    configs = [json.loads((Path(a) / ADAPTER_CONFIG).read_text()) for a in adapters]
    if any(c != configs[0] for c in configs[1:]):
        raise ValueError("the soup's adapters have different adapter configs (LoRA shape or target modules)")
    mixed = interpolate([load_file(str(Path(a) / ADAPTER_WEIGHTS)) for a in adapters], weights)
    staging = out_dir.with_name(f".{out_dir.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    save_file({name: t.contiguous() for name, t in mixed.items()}, str(staging / ADAPTER_WEIGHTS))
    shutil.copy(Path(adapters[0]) / ADAPTER_CONFIG, staging / ADAPTER_CONFIG)
    soup = {"adapters": [str(a) for a in adapters], "weights": [float(w) for w in weights]}
    (staging / "soup.json").write_text(json.dumps(soup, indent=1) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    staging.rename(out_dir)
    return out_dir


def fit(run: Run, context: Context) -> None:
    """Train one adapter per objective, then mix one adapter per preference (tasks on the config's executor: the
    objectives' trainings in parallel, each mix once they have all finished)."""
    config = context.config
    pool = paretohqd.score(run, context)
    k = config.soups.k or config.selection.k
    if run.todo("select-soups"):
        with run.unit("select-soups") as record:
            chosen = top_k_per_objective(pool.rewards, k)
            means = []
            for name, rows in zip(context.objectives, chosen, strict=True):
                frame = selection_frame(pool.frame, rows, -pool.frame[name].to_numpy()[rows], context.objectives)
                frame.to_json(run.path("selections", "soups", f"{name}.jsonl"), orient="records", lines=True)
                means.append(frame[list(context.objectives)].mean().round(4).tolist())
            record.update(k=k, pool_size=len(pool.frame), mean_rewards=means)
    executor = executor_for(config)
    trained = [executor.submit(train_ingredient, run, context, name) for name in context.objectives]
    mixed = [executor.submit(mix_preference, run, context, i, *trained) for i in range(len(context.preferences))]
    executor.gather([*trained, *mixed])


def train_ingredient(run: Run, context: Context, name: str) -> None:
    """Unit train-soups/<name>: fine-tune one adapter on objective `name`'s top-k samples."""
    from paretohqd.train import train_sft

    unit = f"train-soups/{name}"
    if not run.todo(unit, everyone=True):
        return
    config = context.config
    with run.unit(unit) as record:
        samples = pd.read_json(
            run.root / "selections" / "soups" / f"{name}.jsonl", lines=True, dtype={"prompt": str, "response": str}
        )
        result = train_sft(
            config.model,
            samples,
            run.path("adapters", "soups", name),
            lora=config.lora,
            train=replace(config.train, steps=soup_steps(config), epochs=None),
            chat=context.task.chat_template,
        )
        record.update(steps=result.steps, samples_seen=result.samples_seen, final_loss=result.final_loss)


def mix_preference(run: Run, context: Context, index: int, *after) -> None:
    """Unit mix/<label>: the adapter of preference `index`, sum_i w_i theta_i over the objectives' adapters. after:
    handles of the tasks this one waits for (every objective's training)."""
    unit = f"mix/{context.label(index)}"
    if not run.todo(unit):
        return
    weights = context.preferences[index]
    ingredients = [run.root / "adapters" / "soups" / name for name in context.objectives]
    with run.unit(unit) as record:
        mix_adapters(ingredients, weights, run.path("adapters", "soups", "mix", context.label(index)))
        record.update(weights=weights.tolist())


def soup_steps(config) -> int:
    """Steps per objective model: soups.steps, or what one ParetoHqD preference model trains in both stages."""
    if config.soups.steps:
        return config.soups.steps
    if config.train.steps is None:
        raise ValueError("soups.steps must be set when train.epochs (not train.steps) sets stage 1's budget")
    return config.train.steps + (config.stage2.steps if config.stage2.enabled else 0)


def policies(run: Run, context: Context) -> dict[str, Policy]:
    """Per preference, its mixed adapter."""
    labels = [context.label(i) for i in range(len(context.preferences))]
    return {label: Policy(str(run.root / "adapters" / "soups" / "mix" / label)) for label in labels}
