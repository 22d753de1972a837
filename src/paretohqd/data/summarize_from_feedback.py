"""openai/summarize_from_feedback, config "comparisons": the `reddit-summary` task's posts and summaries.

Source: the hub dataset "openai/summarize_from_feedback", read from the Hub's Parquet conversion of its "comparisons"
config (its main branch holds a loading script, which `datasets` no longer runs; train 92,858 rows, validation
86,086), or local files / folders with the same nested columns (see `paretohqd.data.sources`):

- `info`: {"id", "post", "title", "subreddit", "article", ...}; `post` is None for the news articles of the
  validation split, whose text is in `article`;
- `summaries`: the two compared summaries, [{"text", ...}, {"text", ...}];
- `choice`: 0 or 1, the index of the summary the labeller preferred.
"""

from __future__ import annotations

import logging
import os

import pandas as pd

from paretohqd.checks import check_positive_int, describe_rows
from paretohqd.data.sources import describe_source, read_columns, report_dropped

SUMMARIZE_FROM_FEEDBACK = "openai/summarize_from_feedback"
CONFIG = "comparisons"
SUMMARY_TEMPLATE = "### Instruction: Generate a one-sentence summary of this post. ### Input: {post} ### Response: "
MIN_CHARS = 100
MAX_CHARS = 1200


def summary_prompt(post: str) -> str:
    """The prompt asking for a one-sentence summary of `post` (SUMMARY_TEMPLATE)."""
    return SUMMARY_TEMPLATE.format(post=post)


def load_summaries(
    source: str | os.PathLike = SUMMARIZE_FROM_FEEDBACK,
    *,
    split: str = "train",
    min_chars: int = MIN_CHARS,
    max_chars: int = MAX_CHARS,
) -> pd.DataFrame:
    """The samples of one split: both summaries of every comparison whose post has min_chars..max_chars characters.

    Returns a DataFrame with columns prompt (`summary_prompt` of the post, stripped of surrounding whitespace),
    response (the summary, stripped), label ("chosen" for the summary at `choice`, else "rejected"), post_id
    (`info["id"]`) and row (the row of the split), rows in split order, the two summaries of a row in their order.
    Rows without post or article text and summaries that are empty are dropped (counts logged as warnings); posts
    outside the length range are filtered out (count logged). `summaries` that are not two {"text": str} records, or
    a `choice` other than 0 or 1, are a ValueError naming the rows.
    """
    where = describe_source(source, split)
    columns = read_columns(source, ["info", "summaries", "choice"], split=split, config=CONFIG, parquet_export=True)
    _check_comparisons(columns["summaries"], columns["choice"], where)
    posts = _posts(columns["info"], where, min_chars, max_chars)
    records = []
    n_summaries = 0
    for row, (post, info, summaries, choice) in enumerate(
        zip(posts, columns["info"], columns["summaries"], columns["choice"], strict=True)
    ):
        if post is None:
            continue
        n_summaries += len(summaries)
        for index, summary in enumerate(summaries):
            text = summary["text"].strip()
            if text:
                label = "chosen" if index == choice else "rejected"
                records.append((summary_prompt(post), text, label, info.get("id"), row))
    report_dropped(where, n_summaries - len(records), n_summaries, "empty summaries")
    return pd.DataFrame(records, columns=["prompt", "response", "label", "post_id", "row"])


def summary_prompts(
    source: str | os.PathLike = SUMMARIZE_FROM_FEEDBACK,
    *,
    split: str = "validation",
    min_chars: int = MIN_CHARS,
    max_chars: int = MAX_CHARS,
) -> list[str]:
    """Distinct prompts of the posts of `split` with min_chars..max_chars characters, in row order.

    The defaults give the evaluation prompts (the validation split; a post compared several times gives one
    prompt); split="train" gives the training prompts.
    """
    where = describe_source(source, split)
    info = read_columns(source, ["info"], split=split, config=CONFIG, parquet_export=True)["info"]
    posts = _posts(info, where, min_chars, max_chars)
    return list(dict.fromkeys(summary_prompt(post) for post in posts if post is not None))


def _post_text(info) -> str | None:
    """The text of a comparison's `info`: its post, or its article when the post is None; stripped; None if absent."""
    if not isinstance(info, dict):
        return None
    text = info.get("post")
    if text is None:
        text = info.get("article")
    return text.strip() if isinstance(text, str) and text.strip() else None


def _posts(infos: list, where: str, min_chars: int, max_chars: int) -> list[str | None]:
    """Per row, the post text if it has min_chars..max_chars characters, else None (counts logged)."""
    min_chars = check_positive_int(min_chars, "min_chars")
    max_chars = check_positive_int(max_chars, "max_chars")
    if min_chars > max_chars:
        raise ValueError(f"min_chars ({min_chars}) must not exceed max_chars ({max_chars})")
    texts = [_post_text(info) for info in infos]
    report_dropped(where, texts.count(None), len(texts), "rows without post or article text")
    posts = [text if text is not None and min_chars <= len(text) <= max_chars else None for text in texts]
    report_dropped(
        where,
        posts.count(None) - texts.count(None),
        len(texts) - texts.count(None),
        f"posts outside {min_chars}..{max_chars} characters",
        level=logging.INFO,
    )
    return posts


def _check_comparisons(summaries: list, choices: list, where: str) -> None:
    """A ValueError naming the rows whose summaries are not two {"text": str} records or whose choice is not 0/1."""
    bad = [
        row
        for row, (pair, choice) in enumerate(zip(summaries, choices, strict=True))
        if not (
            isinstance(pair, list)
            and len(pair) == 2
            and all(isinstance(summary, dict) and isinstance(summary.get("text"), str) for summary in pair)
            and choice in (0, 1)
            and not isinstance(choice, bool)
        )
    ]
    if bad:
        raise ValueError(
            f"{where}: each comparison needs `summaries` = two records with a string 'text' and `choice` 0 or 1; "
            f"{describe_rows(bad)} do not (row {bad[0]}: summaries={summaries[bad[0]]!r}, choice={choices[bad[0]]!r})"
        )
