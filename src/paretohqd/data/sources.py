"""Where rows come from: a hub dataset id, a local data file, a folder of data files or a `save_to_disk` folder.

Every loader of this package reads through `read_columns`, so that the same `source` argument accepts all of them:

- an existing file ending in .jsonl, .json, .parquet or .csv (optionally compressed: .gz, .bz2, .xz, .zst): the file
  is the split, whatever split is asked for;
- an existing folder written by `datasets.Dataset.save_to_disk` (or `DatasetDict.save_to_disk`, then `split` picks
  one);
- an existing folder of data files of one format: files are assigned to splits by their names, as `datasets` does
  for hub repositories (train.jsonl.gz, test-00000-of-00001.parquet, validation/0000.parquet, ...);
- anything else that does not look like a path: a dataset id on the Hugging Face Hub.

Dropped rows are never silent: loaders report counts on the "paretohqd.data" logger (`report_dropped`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from paretohqd.checks import describe_rows

logger = logging.getLogger("paretohqd.data")

FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst")
# The Hub's automatic Parquet conversion of every public dataset, one folder per config and split.
PARQUET_EXPORT = "hf://datasets/{repo}@refs%2Fconvert%2Fparquet/{config}/{split}/*.parquet"


def file_format(path: str | os.PathLike) -> str | None:
    """The `datasets` builder reading this file name ("json", "parquet" or "csv"), or None for other files."""
    name = Path(path).name.lower()
    for compression in COMPRESSIONS:
        name = name.removesuffix(compression)
    return FORMATS.get(Path(name).suffix)


def looks_like_path(source: str) -> bool:
    """Whether `source` names a local file or folder rather than a hub id ("name" or "owner/name")."""
    return (
        os.path.isabs(source)
        or source.startswith((".", "~"))
        or source.endswith(("/", os.sep))
        or source.count("/") > 1
        or file_format(source) is not None
    )


def describe_source(source: str | os.PathLike, split: str) -> str:
    """How messages name a source: its id or path and the split read from it."""
    return f"{os.fspath(source)} [{split}]"


def report_dropped(where: str, dropped: int, total: int, what: str, *, level: int = logging.WARNING) -> None:
    """Log "`where`: dropped `dropped` of `total` `what`" on the paretohqd.data logger; nothing when none was."""
    if dropped:
        logger.log(level, "%s: dropped %d of %d %s", where, dropped, total, what)


def read_columns(
    source: str | os.PathLike,
    columns: Sequence[str],
    *,
    split: str,
    config: str | None = None,
    text_columns: Sequence[str] = (),
    parquet_export: bool = False,
) -> dict[str, list]:
    """The given `columns` of one split of `source` as Python lists (None for missing values), N rows each.

    config: the hub dataset's config (subset) name, if it has several.
    text_columns: columns a CSV file must keep as raw strings (otherwise "42" would be read as a number and an
        empty cell as missing).
    parquet_export: read a hub dataset from the Hub's Parquet conversion instead of its main branch (for
        repositories that still hold a loading script, which `datasets` no longer runs).
    A missing column is a ValueError naming it and listing the columns present.
    """
    dataset = _load_split(os.fspath(source), split, config, text_columns, parquet_export)
    missing = [column for column in columns if column not in dataset.column_names]
    if missing:
        raise ValueError(
            f"{describe_source(source, split)} has no column {', '.join(map(repr, missing))}; "
            f"its columns: {', '.join(map(repr, dataset.column_names))}"
        )
    return dataset.select_columns(list(columns)).to_dict()


def check_text_column(values: Sequence, column: str, where: str) -> None:
    """A TypeError naming `column` and the offending rows unless every value is a str (None counts as missing)."""
    bad = [row for row, value in enumerate(values) if not isinstance(value, str)]
    if bad:
        raise TypeError(
            f"{where}: column {column!r} must hold strings; {describe_rows(bad)} do not "
            f"(row {bad[0]}: {values[bad[0]]!r})"
        )


def _load_split(source: str, split: str, config: str | None, text_columns: Sequence[str], parquet_export: bool):
    """One split of `source` as a `datasets.Dataset` (see the module docstring for what `source` may be)."""
    import datasets

    path = Path(source).expanduser()
    if path.is_file():
        builder = file_format(path)
        if builder is None:
            raise ValueError(
                f"cannot read {source}: expected a file ending in {', '.join(FORMATS)} (optionally compressed)"
            )
        return datasets.load_dataset(
            builder, data_files=str(path), split="train", **_builder_options(builder, text_columns)
        )
    if path.is_dir():
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            return _split_from_disk(datasets.load_from_disk(str(path)), source, split)
        builder = _folder_format(path)
        options = _builder_options(builder, text_columns)
        return datasets.load_dataset(builder, data_dir=str(path), split=split, **options)
    if looks_like_path(source):
        raise FileNotFoundError(f"no such file or folder: {source}")
    if parquet_export:
        files = PARQUET_EXPORT.format(repo=source, config=config or "default", split=split)
        return datasets.load_dataset("parquet", data_files={split: files}, split=split)
    return datasets.load_dataset(source, config, split=split)


def _builder_options(builder: str, text_columns: Sequence[str]) -> dict:
    """CSV cells of `text_columns` stay exactly as written: no number parsing, "" and "NA" are not missing."""
    if builder != "csv":
        return {}
    return {"converters": dict.fromkeys(text_columns, str), "keep_default_na": False}


def _folder_format(path: Path) -> str:
    """The one data-file format of the (non-hidden) files under `path`; a ValueError for none or several."""
    files = [file for file in path.rglob("*") if file.is_file() and not file.name.startswith(".")]
    found = sorted({builder for file in files if (builder := file_format(file)) is not None})
    if len(found) != 1:
        what = "no data files" if not found else f"files of several formats ({', '.join(found)})"
        raise ValueError(
            f"{path} holds {what}; a data folder must hold files of one format: {', '.join(FORMATS)} "
            "(optionally compressed), named by split (train, test, validation)"
        )
    return found[0]


def _split_from_disk(saved, source: str, split: str):
    """The `split` of a saved DatasetDict, or the saved Dataset itself."""
    import datasets

    if isinstance(saved, datasets.Dataset):
        return saved
    if split not in saved:
        raise ValueError(f"{source} has no split {split!r}; its splits: {', '.join(map(repr, saved))}")
    return saved[split]
