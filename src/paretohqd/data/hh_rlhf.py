"""Anthropic/hh-rlhf: the `helpful-assistant` task's dialogues, split into (prompt, response) samples.

Source: the hub dataset "Anthropic/hh-rlhf" (JSON Lines files on its main branch, no loading script; train 160,800
rows, test 8,552), or local files / folders with its two columns `chosen` and `rejected`, each a whole dialogue
"\\n\\nHuman: ...\\n\\nAssistant: ...\\n\\nHuman: ...\\n\\nAssistant: ..." (see `paretohqd.data.sources`).
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from paretohqd.checks import check_positive_int
from paretohqd.data.sources import check_text_column, describe_source, read_columns, report_dropped

HH_RLHF = "Anthropic/hh-rlhf"
ASSISTANT = "\n\nAssistant:"
LABELS = ("chosen", "rejected")


def split_dialogue(dialogue: str) -> tuple[str, str] | None:
    """(prompt, response) of one dialogue, or None when it has no "\\n\\nAssistant:" turn.

    The prompt is the dialogue up to and including its last "\\n\\nAssistant:" (so a model continues the assistant's
    turn); the response is the rest, without its leading whitespace.
    """
    cut = dialogue.rfind(ASSISTANT)
    if cut < 0:
        return None
    end = cut + len(ASSISTANT)
    return dialogue[:end], dialogue[end:].lstrip()


def load_hh_rlhf(
    source: str | os.PathLike = HH_RLHF,
    *,
    split: str = "train",
    tokenizer=None,
    max_prompt_tokens: int | None = None,
    max_response_tokens: int | None = None,
) -> pd.DataFrame:
    """The samples of one split: the chosen and the rejected dialogue of every row, split by `split_dialogue`.

    Returns a DataFrame with columns prompt, response, label ("chosen" or "rejected") and row (the row of the split
    it came from), rows in split order, chosen before rejected. A row whose chosen or rejected dialogue has no
    "\\n\\nAssistant:" turn, or nothing after its last one, is dropped whole (count logged as a warning). With
    `tokenizer` (a Hugging Face tokenizer, or anything called as `tokenizer(texts, add_special_tokens=False)`
    returning {"input_ids": one list of ids per text}), samples whose prompt has more than `max_prompt_tokens` tokens
    or whose response has more than `max_response_tokens` are dropped (count logged).
    """
    _check_limits(tokenizer, max_prompt_tokens=max_prompt_tokens, max_response_tokens=max_response_tokens)
    where = describe_source(source, split)
    columns = read_columns(source, LABELS, split=split, text_columns=LABELS)
    for label in LABELS:
        check_text_column(columns[label], label, where)
    records = []
    n_rows = len(columns["chosen"])
    for row, dialogues in enumerate(zip(columns["chosen"], columns["rejected"], strict=True)):
        halves = [split_dialogue(dialogue) for dialogue in dialogues]
        if all(half is not None and half[1] for half in halves):
            records += [(*half, label, row) for half, label in zip(halves, LABELS, strict=True)]
    report_dropped(
        where,
        n_rows - len(records) // 2,
        n_rows,
        f"rows whose chosen or rejected dialogue has no {ASSISTANT!r} turn or nothing after its last one",
    )
    samples = pd.DataFrame(records, columns=["prompt", "response", "label", "row"])
    limits = {"prompt": max_prompt_tokens, "response": max_response_tokens}
    if all(limit is None for limit in limits.values()):
        return samples
    keep = np.logical_and.reduce([_within(tokenizer, samples[part], limit) for part, limit in limits.items()])
    over = " or ".join(f"a {part} over {limit} tokens" for part, limit in limits.items() if limit is not None)
    report_dropped(where, int((~keep).sum()), len(samples), f"samples with {over}", level=logging.INFO)
    return samples[keep].reset_index(drop=True)


def hh_rlhf_prompts(
    source: str | os.PathLike = HH_RLHF,
    *,
    split: str = "test",
    every: int = 4,
    tokenizer=None,
    max_prompt_tokens: int | None = None,
) -> list[str]:
    """Distinct prompts of rows 0, every, 2 * every, ... of `split` (from the chosen dialogues), in row order.

    The defaults give the evaluation prompts (every 4th row of the test split); split="train", every=1 gives the
    training prompts. Rows whose chosen dialogue has no "\\n\\nAssistant:" turn are dropped (count logged); with a
    tokenizer, so are prompts over `max_prompt_tokens` tokens.
    """
    every = check_positive_int(every, "every")
    _check_limits(tokenizer, max_prompt_tokens=max_prompt_tokens)
    where = describe_source(source, split)
    dialogues = read_columns(source, ["chosen"], split=split, text_columns=["chosen"])["chosen"][::every]
    check_text_column(dialogues, "chosen", where)
    halves = [split_dialogue(dialogue) for dialogue in dialogues]
    prompts = [half[0] for half in halves if half is not None]
    report_dropped(where, len(dialogues) - len(prompts), len(dialogues), f"rows without a {ASSISTANT!r} turn")
    prompts = list(dict.fromkeys(prompts))
    if max_prompt_tokens is None:
        return prompts
    keep = _within(tokenizer, prompts, max_prompt_tokens)
    report_dropped(
        where, int((~keep).sum()), len(prompts), f"prompts over {max_prompt_tokens} tokens", level=logging.INFO
    )
    return [prompt for prompt, kept in zip(prompts, keep, strict=True) if kept]


def _check_limits(tokenizer, **limits: int | None) -> None:
    """Token limits are positive integers, and only mean something with a tokenizer to count with."""
    for name, limit in limits.items():
        if limit is not None:
            check_positive_int(limit, name)
            if tokenizer is None:
                raise ValueError(f"{name}={limit} needs a tokenizer to count tokens with; pass tokenizer=...")


def _within(tokenizer, texts, limit: int | None) -> np.ndarray:
    """(N,) bool: which of N texts have at most `limit` tokens, without special tokens (all when limit is None).

    Each distinct text is tokenized once: the chosen and the rejected sample of a row usually share their prompt.
    """
    texts = list(texts)
    if limit is None or not texts:
        return np.ones(len(texts), dtype=bool)
    unique = list(dict.fromkeys(texts))
    lengths = dict(zip(unique, map(len, tokenizer(unique, add_special_tokens=False)["input_ids"]), strict=True))
    return np.array([lengths[text] <= limit for text in texts], dtype=bool)
