"""chatterbot-corpus: the `chat-offline` task's prompts, shipped inside an installed package (no network).

Source: the YAML files under `chatterbot_corpus/data/<language>/` of the package chatterbot-corpus (1.3.3). Each has
`categories` and `conversations`, a list of conversations, each a list of turns; the first turn of a conversation is
a prompt. The task has no fixed responses: the model generates them, so these loaders return prompts only.

English has 2,026 conversations and 748 distinct first turns. One entry of trivia.yml (the "two little ducks"
question) lacks its "- " in the corpus, so YAML reads that conversation as one string instead of a list of turns; it
is skipped, with a count on the paretohqd.data logger at INFO level (the corpus ships that way; nothing to fix).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from importlib.resources import files

import yaml

from paretohqd.data.sources import report_dropped

CORPUS_PACKAGE = "chatterbot_corpus"
EVAL_FRACTION = 0.2


def chatterbot_first_turns(language: str = "english") -> list[str]:
    """Distinct first turns of the corpus's conversations in `language`, whitespace-normalised, in file order.

    Files are read in name order with YAML's base loader, so every scalar stays the text it was written as ("yes"
    is not read as True, "1984" not as a number). Runs of whitespace become one space; exact duplicates after that
    are dropped. Conversations that are not a list starting with a non-empty string are skipped (count logged).
    """
    folder = files(CORPUS_PACKAGE).joinpath("data", language)
    if not folder.is_dir():
        known = sorted(entry.name for entry in files(CORPUS_PACKAGE).joinpath("data").iterdir() if entry.is_dir())
        raise ValueError(f"chatterbot-corpus has no language {language!r}; it has: {', '.join(known)}")
    prompts, n_conversations = [], 0
    for path in sorted((entry for entry in folder.iterdir() if entry.name.endswith(".yml")), key=lambda e: e.name):
        conversations = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader).get("conversations", [])
        n_conversations += len(conversations)
        for conversation in conversations:
            if isinstance(conversation, list) and conversation and isinstance(conversation[0], str):
                text = " ".join(conversation[0].split())
                if text:
                    prompts.append(text)
    report_dropped(
        f"chatterbot-corpus {language}",
        n_conversations - len(prompts),
        n_conversations,
        "conversations that do not start with a text turn",
        level=logging.INFO,
    )
    return list(dict.fromkeys(prompts))


def split_prompts(prompts: Sequence[str], eval_fraction: float = EVAL_FRACTION) -> tuple[list[str], list[str]]:
    """(train, eval): each prompt goes to eval when the SHA-256 of its UTF-8 text, read as a fraction, is below
    `eval_fraction`; both lists keep the input order.

    The assignment of a prompt depends on its text alone: the same in every run and on every machine (Python's
    `hash` of a str changes between processes), and unchanged when other prompts are added or removed.
    """
    if isinstance(eval_fraction, bool) or not (isinstance(eval_fraction, (int, float)) and 0 < eval_fraction < 1):
        raise ValueError(f"eval_fraction must be a number strictly between 0 and 1; got {eval_fraction!r}")
    train, evaluation = [], []
    for prompt in prompts:
        digest = hashlib.sha256(prompt.encode("utf-8")).digest()
        (evaluation if int.from_bytes(digest[:8], "big") < eval_fraction * 2**64 else train).append(prompt)
    return train, evaluation


def chatterbot_prompts(
    split: str = "train", *, eval_fraction: float = EVAL_FRACTION, language: str = "english"
) -> list[str]:
    """The "train" or "eval" part of `chatterbot_first_turns(language)` under `split_prompts(..., eval_fraction)`."""
    parts = dict(zip(("train", "eval"), split_prompts(chatterbot_first_turns(language), eval_fraction), strict=True))
    if split not in parts:
        raise ValueError(f"split must be 'train' or 'eval'; got {split!r}")
    return parts[split]
