"""Evaluation: every preference model answers the same held-out prompts with the same sampling seed (paired
comparisons); the mean raw reward per objective is the model's point. Also: standard errors, the collapse rate
(`paretohqd.text.is_collapsed`) and generation speed. One resumable unit per label: eval/<label>; one task per model
(the labels sharing an adapter) on the config's executor.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from paretohqd import distributed
from paretohqd.executors import executor_for
from paretohqd.files import write_parquet_atomic, write_text_atomic
from paretohqd.methods.base import Policy
from paretohqd.pipeline import Context, prompt_options
from paretohqd.runs import Run

POINTS_FILE = "points.json"


@dataclass(frozen=True)
class Point:
    """One model's evaluation: mean and standard error (M,) of each objective's raw reward over n prompts."""

    label: str
    preference: list[float] | None
    mean: list[float]
    stderr: list[float]
    collapse_rate: float
    n: int


def eval_prompts(context: Context) -> list[str]:
    """The run's held-out prompts: the task's eval prompts, the first `eval.prompts` of them."""
    prompts = context.task.load_eval_prompts(**prompt_options(context))
    return prompts[: context.config.eval.prompts] if context.config.eval.prompts else prompts


def evaluate(run: Run, context: Context, policies: dict[str, Policy]) -> list[Point]:
    """Evaluate each policy (label -> Policy: adapter folder or None for the base model, and the prompt conditioning);
    writes eval/<label>.parquet with every generation and its rewards (scored against the plain prompt), and
    eval/points.json. Finished models are not evaluated again. Each model (the policies sharing an adapter) is one
    task on the config's executor; points.json is written here once they have finished."""
    executor = executor_for(context.config)
    models: dict[str | None, dict[str, Policy]] = {}
    for label, policy in policies.items():
        models.setdefault(policy.adapter, {})[label] = policy
    executor.gather([executor.submit(evaluate_model, run, context, group) for group in models.values()])
    preferences = {context.label(i): w.tolist() for i, w in enumerate(context.preferences)}
    points = [_point(label, preferences.get(label), load_eval(run, label), context.objectives) for label in policies]
    if distributed.is_main():  # under `accelerate launch`, the main process writes the run folder
        write_text_atomic(run.path("eval", POINTS_FILE), json.dumps([asdict(p) for p in points], indent=1))
    return points


def evaluate_model(run: Run, context: Context, policies: dict[str, Policy]) -> None:
    """Units eval/<label> of policies that share one model (label -> Policy, all with the same adapter): the model is
    loaded once, then answers the held-out prompts for each label with its prompt conditioning."""
    from paretohqd.generate import GenerationConfig, format_prompts, generate
    from paretohqd.models import load_model, load_tokenizer
    from paretohqd.rewards import load_reward, score_all
    from paretohqd.text import cut_at_stops, is_collapsed
    from paretohqd.train import load_trained

    config = context.config
    settings = GenerationConfig(
        config.eval.max_new_tokens or context.task.max_new_tokens,
        config.eval.temperature,
        config.eval.top_p,
        config.eval.batch_size,
        config.eval.seed,
    )
    prompts = model = rewards = None
    preferences = {context.label(i): w.tolist() for i, w in enumerate(context.preferences)}
    for label, policy in policies.items():
        if not run.todo(f"eval/{label}"):
            continue
        with run.unit(f"eval/{label}") as record:
            if model is None:  # the first label this process evaluates: load the prompts and the model once
                prompts = eval_prompts(context)
                # Merged LoRA weights generate at the base model's speed (an unmerged adapter costs ~2x on a CPU).
                adapter = policy.adapter
                model = load_model(config.model) if adapter is None else load_trained(config.model, adapter, merge=True)
            tokenizer = load_tokenizer(config.model)
            inputs = [context.task.insert_before_response(p, policy.prompt_tags) for p in prompts]
            out = generate(model, tokenizer, format_prompts(tokenizer, inputs, context.task.chat_template), settings)
            responses = [cut_at_stops(text, context.task.stop_markers) for text in out.texts]
            rewards = rewards or [load_reward(name) for name in context.objectives]
            scores = score_all(rewards, prompts, responses)
            frame = pd.DataFrame({"prompt": prompts, "response": responses})
            for j, name in enumerate(context.objectives):
                frame[name] = scores[:, j]
            frame["collapsed"] = [is_collapsed(r) for r in responses]
            frame["new_tokens"] = out.new_tokens
            frame["capped"] = out.capped
            write_parquet_atomic(frame, run.path("eval", f"{label}.parquet"))
            record.update(
                asdict(_point(label, preferences.get(label), frame, context.objectives)),
                adapter=policy.adapter,
                prompt_tags=policy.prompt_tags,
                generations=len(prompts),
                tokens_per_second=out.tokens_per_second,
            )


def load_eval(run: Run, label: str) -> pd.DataFrame:
    """The generations and rewards of one evaluated model."""
    return pd.read_parquet(run.root / "eval" / f"{label}.parquet")


def _point(label: str, preference, frame: pd.DataFrame, objectives) -> Point:
    values = frame[list(objectives)].to_numpy(dtype=np.float64)
    n = len(values)
    stderr = values.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(values.shape[1])
    return Point(
        label,
        preference,
        values.mean(axis=0).round(6).tolist(),
        stderr.round(6).tolist(),
        round(float(frame["collapsed"].mean()), 6),
        n,
    )
