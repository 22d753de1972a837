"""Ablation: full-pool SFT — one model fine-tuned on the whole scored pool with no selection at all, serving every
preference. It is RiC's offline training without the reward tags (same data, same epochs by default), so it shows
what selection (ParetoHqD) or conditioning (RiC) add over plain imitation of the pool.

Units: pool, train-full. Output: adapters/full_sft/.
"""

from __future__ import annotations

from dataclasses import replace

from paretohqd.methods import paretohqd
from paretohqd.methods.base import Policy
from paretohqd.pipeline import Context
from paretohqd.runs import Run


def fit(run: Run, context: Context) -> None:
    """Score the pool and fine-tune one adapter on all of it."""
    from paretohqd.train import train_sft

    config = context.config
    pool = paretohqd.score(run, context)
    if not run.todo("train-full", everyone=True):
        return
    budget = config.full_sft
    train = replace(config.train, steps=budget.steps, epochs=None if budget.steps else budget.epochs)
    with run.unit("train-full") as record:
        result = train_sft(
            config.model,
            pool.frame[["prompt", "response"]],
            run.path("adapters", "full_sft"),
            lora=config.lora,
            train=train,
            chat=context.task.chat_template,
        )
        record.update(steps=result.steps, samples_seen=result.samples_seen, final_loss=result.final_loss)


def policies(run: Run, context: Context) -> dict[str, Policy]:
    """The one adapter, for every preference."""
    adapter = str(run.root / "adapters" / "full_sft")
    return {context.label(i): Policy(adapter) for i in range(len(context.preferences))}
