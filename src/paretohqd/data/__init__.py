"""Data: task presets and the loaders of their datasets, plus loaders for the user's own samples and prompts.

Samples are pandas DataFrames with at least the str columns `prompt` and `response` (loaders add metadata such as
`label` and `row`); prompt sets are lists of str. `get_task(name)` returns a preset: "helpful-assistant"
(Anthropic/hh-rlhf), "reddit-summary" (openai/summarize_from_feedback) or "chat-offline" (chatterbot-corpus, shipped
with the package, no network). Every loader's `source` takes a hub id, a local file or a folder (see
`paretohqd.data.sources`); dropped rows are counted on the "paretohqd.data" logger.
"""

from paretohqd.data.chatterbot import chatterbot_first_turns, chatterbot_prompts, split_prompts
from paretohqd.data.generic import load_prompts, load_samples
from paretohqd.data.hh_rlhf import HH_RLHF, hh_rlhf_prompts, load_hh_rlhf, split_dialogue
from paretohqd.data.summarize_from_feedback import (
    SUMMARIZE_FROM_FEEDBACK,
    SUMMARY_TEMPLATE,
    load_summaries,
    summary_prompt,
    summary_prompts,
)
from paretohqd.data.tasks import TASKS, Task, get_task, task_names

__all__ = [
    "HH_RLHF",
    "SUMMARIZE_FROM_FEEDBACK",
    "SUMMARY_TEMPLATE",
    "TASKS",
    "Task",
    "chatterbot_first_turns",
    "chatterbot_prompts",
    "get_task",
    "hh_rlhf_prompts",
    "load_hh_rlhf",
    "load_prompts",
    "load_samples",
    "load_summaries",
    "split_dialogue",
    "split_prompts",
    "summary_prompt",
    "summary_prompts",
    "task_names",
]
