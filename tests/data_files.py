"""Small local data files with the real schemas of the hub datasets, written by the data tests.

`datasets_cache` puts the Arrow cache that `datasets` writes for every file it reads in a temporary folder of the
test session (outside tmp_path, which the tests read as data folders), not in the user's cache.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv
import pyarrow.parquet
import pytest


@pytest.fixture
def datasets_cache(tmp_path_factory, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path_factory.mktemp("datasets_cache")))


# The column types of summarize_from_feedback's "comparisons" config in the Hub's Parquet conversion.
COMPARISONS_SCHEMA = pa.schema(
    {
        "info": pa.struct({name: pa.string() for name in ("id", "post", "title", "subreddit", "site", "article")}),
        "summaries": pa.list_(pa.struct({"text": pa.string(), "policy": pa.string(), "note": pa.string()})),
        "choice": pa.int32(),
        "worker": pa.string(),
        "batch": pa.string(),
        "split": pa.string(),
        "extra": pa.struct({"confidence": pa.int32()}),
    }
)


def write_rows(path, rows: list[dict], schema: pa.Schema | None = None) -> str:
    """Write `rows` in the format the file name says: .jsonl, .jsonl.gz, .json (one array), .csv or .parquet.

    schema: column types of a .parquet file (default: inferred from the rows).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".jsonl.gz"):
        with gzip.open(path, "wt", encoding="utf-8") as file:
            file.writelines(json.dumps(row) + "\n" for row in rows)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    elif path.suffix == ".csv":
        pyarrow.csv.write_csv(pa.Table.from_pylist(rows), path)
    elif path.suffix == ".parquet":
        pyarrow.parquet.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    else:
        raise ValueError(f"no writer for {path.name}")
    return str(path)


def dialogue(*turns: str) -> str:
    """An hh-rlhf dialogue: turns alternate Human / Assistant, each after a blank line."""
    return "".join(f"\n\n{'Human' if i % 2 == 0 else 'Assistant'}: {turn}" for i, turn in enumerate(turns))


def hh_row(question: str, chosen: str, rejected: str) -> dict:
    """One hh-rlhf row: a one-turn dialogue with the chosen and the rejected answer."""
    return {"chosen": dialogue(question, chosen), "rejected": dialogue(question, rejected)}


def comparison(
    post: str | None,
    summaries=("A short summary.", "Another summary."),
    choice: int = 0,
    *,
    post_id: str = "t3_a",
    article: str | None = None,
) -> dict:
    """One row of summarize_from_feedback's "comparisons" config, with all its fields."""
    return {
        "info": {
            "id": post_id,
            "post": post,
            "title": "A title",
            "subreddit": None if post is None else "relationships",
            "site": "dailymail" if post is None else None,
            "article": article,
        },
        "summaries": [{"text": text, "policy": "ref", "note": None} for text in summaries],
        "choice": choice,
        "worker": "w1",
        "batch": "batch1",
        "split": "train",
        "extra": {"confidence": 7},
    }
