"""Bring your own data: (prompt, response) samples, optionally scored already, and lists of prompts.

Sources: JSONL / JSON / CSV / Parquet files, folders of them, `datasets` save_to_disk folders and hub dataset ids
(see `paretohqd.data.sources`). Problems the source has to fix are errors; rows that carry no sample are dropped
with a logged count.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from paretohqd.checks import describe_rows
from paretohqd.data.sources import check_text_column, describe_source, read_columns, report_dropped

OUTPUT_COLUMNS = ("prompt", "response", "row")


def load_samples(
    source: str | os.PathLike,
    *,
    split: str = "train",
    prompt_column: str = "prompt",
    response_column: str = "response",
    reward_columns: Sequence[str] = (),
    config: str | None = None,
) -> pd.DataFrame:
    """Samples of one split of `source`: columns prompt, response, one float64 column per reward, and row.

    prompt_column / response_column: the source's names of the two text columns (renamed to prompt / response).
    reward_columns: source columns holding precomputed rewards (a scored pool), kept under their names, in order.
    config: the hub dataset's config (subset) name, if it has several.
    `row` is the row of the source each sample came from.

    Errors: a missing column (ValueError naming it and listing the columns present); a prompt or response that is not
    a string, missing values included (TypeError naming the column and the rows); a reward that is not a finite
    number, NaN and missing included (ValueError naming the column and the rows).
    Drops (counts logged as warnings): samples whose prompt or response is empty or only whitespace, and repeats of
    a (prompt, response) pair after its first occurrence (with whatever rewards the repeats had).
    """
    rewards = _check_reward_columns(reward_columns, prompt_column, response_column)
    where = describe_source(source, split)
    texts = [prompt_column, response_column]
    columns = read_columns(source, [*texts, *rewards], split=split, config=config, text_columns=texts)
    for column in texts:
        check_text_column(columns[column], column, where)
    samples = pd.DataFrame(
        {
            "prompt": columns[prompt_column],
            "response": columns[response_column],
            **{column: _reward_values(columns[column], column, where) for column in rewards},
            "row": np.arange(len(columns[prompt_column])),
        }
    )
    return drop_unusable(samples, where)


def clean_samples(samples: pd.DataFrame, where: str = "samples") -> pd.DataFrame:
    """Check a DataFrame of samples and drop the unusable ones (see `load_samples`), with `where` in messages.

    Errors: no `prompt` or `response` column (ValueError listing the columns present); a value in them that is not
    a string (TypeError naming the column and rows).
    """
    missing = [column for column in ("prompt", "response") if column not in samples.columns]
    if missing:
        raise ValueError(f"{where}: no column(s) {', '.join(map(repr, missing))}; columns: {list(samples.columns)}")
    for column in ("prompt", "response"):
        check_text_column(samples[column].tolist(), column, where)
    return drop_unusable(samples.reset_index(drop=True), where)


def drop_unusable(samples: pd.DataFrame, where: str) -> pd.DataFrame:
    """Drop samples with an empty or whitespace-only prompt or response, then repeated pairs (counts logged)."""
    blank = (samples["prompt"].str.strip() == "") | (samples["response"].str.strip() == "")
    report_dropped(where, int(blank.sum()), len(samples), "samples with an empty or whitespace-only prompt or response")
    samples = samples[~blank.to_numpy()]
    repeated = samples.duplicated(["prompt", "response"])
    report_dropped(where, int(repeated.sum()), len(samples), "repeated (prompt, response) pairs")
    return samples[~repeated.to_numpy()].reset_index(drop=True)


def load_prompts(
    source: str | os.PathLike, *, split: str = "train", prompt_column: str = "prompt", config: str | None = None
) -> list[str]:
    """Distinct prompts of one split of `source`, in source order.

    Errors as in `load_samples`; empty or whitespace-only prompts and repeats are dropped (counts logged).
    """
    where = describe_source(source, split)
    values = read_columns(source, [prompt_column], split=split, config=config, text_columns=[prompt_column])
    prompts = values[prompt_column]
    check_text_column(prompts, prompt_column, where)
    filled = [prompt for prompt in prompts if prompt.strip()]
    report_dropped(where, len(prompts) - len(filled), len(prompts), "empty or whitespace-only prompts")
    distinct = list(dict.fromkeys(filled))
    report_dropped(where, len(filled) - len(distinct), len(filled), "repeated prompts")
    return distinct


def _check_reward_columns(reward_columns: Sequence[str], prompt_column: str, response_column: str) -> list[str]:
    """The reward column names as a list: strings, distinct, and not the name of a text or output column."""
    if isinstance(reward_columns, str) or not all(isinstance(name, str) for name in reward_columns):
        raise TypeError(f"reward_columns must be a sequence of column names; got {reward_columns!r}")
    names = list(reward_columns)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"reward_columns names {', '.join(map(repr, repeated))} more than once")
    taken = sorted(set(names) & {prompt_column, response_column, *OUTPUT_COLUMNS})
    if taken:
        raise ValueError(
            f"reward_columns {', '.join(map(repr, taken))} clash with the text columns or the output columns "
            f"({', '.join(OUTPUT_COLUMNS)}); rename them in the source"
        )
    return names


def _reward_values(values: list, column: str, where: str) -> np.ndarray:
    """(N,) float64 rewards of one column; numbers written as text (CSV) are parsed; non-finite is a ValueError."""
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        raise ValueError(
            f"{where}: reward column {column!r} must hold finite numbers; {describe_rows(bad.tolist())} do not "
            f"(row {bad[0]}: {values[bad[0]]!r})"
        )
    return numbers
