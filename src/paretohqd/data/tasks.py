"""Task presets by name: which data, which objectives, and how prompts are fed to the model.

| task | data | objectives (3-objective variant) | new tokens at eval | prompts |
|---|---|---|---|---|
| helpful-assistant | Anthropic/hh-rlhf | harmless, helpful (+ humor) | 128 | plain text, already a dialogue |
| reddit-summary | openai/summarize_from_feedback | summary, faithful | 48 | plain text, already an instruction |
| chat-offline | chatterbot-corpus (shipped) | relevance, brevity (+ positivity) | 64 | the model's chat template |

The loaders take keyword options that are passed on (e.g. `source=` a local copy, `tokenizer=` and token limits for
hh-rlhf, `eval_fraction=` for chatterbot-corpus).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import pandas as pd

from paretohqd.data.chatterbot import chatterbot_prompts
from paretohqd.data.embedded import load_chat_pool
from paretohqd.data.hh_rlhf import hh_rlhf_prompts, load_hh_rlhf
from paretohqd.data.summarize_from_feedback import load_summaries, summary_prompts
from paretohqd.rewards import reward_names


@dataclass(frozen=True)
class Task:
    """A task preset.

    name: the preset's name.
    objectives: reward names (see `paretohqd.rewards.reward_names`), in the order of the reward columns.
    three_objectives: the task's 3-objective variant, or None when it has none.
    max_new_tokens: generation budget per response when evaluating.
    chat_template: True when prompts are wrapped in the model's chat template (an instruct model), False when they
        are fed as plain text, formatted already (the paper's base-model tasks).
    load_pool: options -> DataFrame of (prompt, response) samples to score and select from (chat-offline: the
        shipped pool of the base model's own answers, see `paretohqd.data.embedded`).
    load_train_prompts: options -> list of training prompts (stage-2 generation; the pool's prompts for chat-offline).
    load_eval_prompts: options -> list of held-out prompts.
    stop_markers: text that ends a generated response (e.g. the next dialogue turn of a base model).
    response_marker: for plain-text prompts, the exact text each prompt ends with before the response
        ("\\n\\nAssistant:"); `insert_before_response` puts conditioning text (RiC's reward tags) in front of it.
    """

    name: str
    objectives: tuple[str, ...]
    three_objectives: tuple[str, ...] | None
    max_new_tokens: int
    chat_template: bool
    load_pool: Callable[..., pd.DataFrame]
    load_train_prompts: Callable[..., list[str]]
    load_eval_prompts: Callable[..., list[str]]
    stop_markers: tuple[str, ...] = ()
    response_marker: str | None = None

    def insert_before_response(self, prompt: str, text: str) -> str:
        """`prompt` with `text` right before the response: appended to the user's message for chat-template tasks,
        placed in front of the exact response marker otherwise (whitespace around the marker is kept as is).

        >>> get_task("helpful-assistant").insert_before_response("\\n\\nHuman: Hi\\n\\nAssistant:", "<rm1_score> 0.5")
        '\\n\\nHuman: Hi <rm1_score> 0.5\\n\\nAssistant:'
        """
        if not text:
            return prompt
        if self.chat_template:
            return f"{prompt} {text}"
        marker = (self.response_marker or "").strip()
        body = prompt.rstrip()
        if not marker or not body.endswith(marker):
            raise ValueError(
                f"task {self.name!r}: the prompt does not end with the response marker {marker!r}: {prompt[-60:]!r}"
            )
        head = body[: len(body) - len(marker)]
        gap = head[len(head.rstrip()) :]
        return f"{head.rstrip()} {text}{gap or ' '}{marker}{prompt[len(body) :]}"

    def with_objectives(self, objectives: Sequence[str]) -> Task:
        """This task with other objectives: at least two distinct registered reward names, in order."""
        if isinstance(objectives, str) or not all(isinstance(name, str) for name in objectives):
            raise TypeError(f"objectives must be a sequence of reward names; got {objectives!r}")
        objectives = tuple(objectives)
        if len(set(objectives)) != len(objectives) or len(objectives) < 2:
            raise ValueError(f"objectives must be at least two distinct reward names; got {objectives!r}")
        unknown = [name for name in objectives if name not in reward_names()]
        if unknown:
            raise ValueError(
                f"unknown reward {', '.join(map(repr, unknown))} in the objectives of task '{self.name}'; "
                f"known rewards: {', '.join(reward_names())}"
            )
        return replace(self, objectives=objectives)


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            name="helpful-assistant",
            objectives=("harmless", "helpful"),
            three_objectives=("harmless", "helpful", "humor"),
            max_new_tokens=128,
            chat_template=False,
            load_pool=load_hh_rlhf,
            load_train_prompts=partial(hh_rlhf_prompts, split="train", every=1),
            load_eval_prompts=hh_rlhf_prompts,
            stop_markers=("\n\nHuman:", "\n\nAssistant:"),
            response_marker="\n\nAssistant:",
        ),
        Task(
            name="reddit-summary",
            objectives=("summary", "faithful"),
            three_objectives=None,
            max_new_tokens=48,
            chat_template=False,
            load_pool=load_summaries,
            load_train_prompts=partial(summary_prompts, split="train"),
            load_eval_prompts=summary_prompts,
            stop_markers=("\n\n", "###"),
            response_marker="### Response:",
        ),
        # 64 new tokens: chatterbot prompts are chit-chat answered in a sentence or two, the brevity objective
        # rewards short answers anyway, and on a CPU generation time grows with the budget (tens of tokens/s).
        Task(
            name="chat-offline",
            objectives=("relevance", "brevity"),
            three_objectives=("relevance", "brevity", "positivity"),
            max_new_tokens=64,
            chat_template=True,
            load_pool=load_chat_pool,
            load_train_prompts=partial(chatterbot_prompts, "train"),
            load_eval_prompts=partial(chatterbot_prompts, "eval"),
        ),
    )
}


def task_names() -> list[str]:
    """Names `get_task` knows, sorted."""
    return sorted(TASKS)


def get_task(name: str, objectives: Sequence[str] | None = None) -> Task:
    """The preset `name`, with `objectives` instead of its default ones when given (see `Task.with_objectives`)."""
    if name not in TASKS:
        close = difflib.get_close_matches(str(name), TASKS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(f"unknown task {name!r}{hint}; known tasks: {', '.join(task_names())}")
    task = TASKS[name]
    return task if objectives is None else task.with_objectives(objectives)
