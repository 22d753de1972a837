"""What a `source` names (a hub id, a data file, a data folder, a saved dataset) and the hub calls the loaders make."""

import datasets
import pytest

from data_files import comparison, datasets_cache, hh_row, write_rows  # noqa: F401 (datasets_cache: a fixture)
from paretohqd.data import hh_rlhf_prompts, load_hh_rlhf, load_samples, load_summaries, summary_prompts
from paretohqd.data.sources import file_format, looks_like_path

pytestmark = pytest.mark.usefixtures("datasets_cache")


@pytest.mark.parametrize(
    ("name", "builder"),
    [
        ("train.jsonl", "json"),
        ("train.jsonl.gz", "json"),
        ("pool.JSON", "json"),
        ("test-00000-of-00001.parquet", "parquet"),
        ("pool.csv.zst", "csv"),
        ("README.md", None),
        ("pool.txt.gz", None),
    ],
)
def test_file_names_say_which_builder_reads_them(name, builder):
    assert file_format(name) == builder


@pytest.mark.parametrize(
    ("source", "is_path"),
    [
        ("Anthropic/hh-rlhf", False),
        ("imdb", False),
        ("./hh", True),
        ("~/data/pool", True),
        ("/data/pool", True),
        ("data/hh/train", True),
        ("mine/", True),
        ("pool.jsonl", True),
    ],
)
def test_hub_ids_are_told_apart_from_paths(source, is_path):
    assert looks_like_path(source) is is_path


def test_a_path_that_does_not_exist_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder: .*pool.jsonl"):
        load_samples(tmp_path / "pool.jsonl")


def test_files_and_folders_without_a_readable_format_are_errors(tmp_path):
    (tmp_path / "pool.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"cannot read .*pool.txt: expected a file ending in .jsonl, .json, .parquet"):
        load_samples(tmp_path / "pool.txt")
    with pytest.raises(ValueError, match="holds no data files; a data folder must hold files of one format"):
        load_samples(tmp_path)
    write_rows(tmp_path / "train.jsonl", [{"prompt": "p", "response": "r"}])
    write_rows(tmp_path / "test.parquet", [{"prompt": "p", "response": "r"}])
    with pytest.raises(ValueError, match=r"holds files of several formats \(json, parquet\)"):
        load_samples(tmp_path)


def test_a_folder_without_the_split_asked_for_says_which_splits_it_has(tmp_path):
    write_rows(tmp_path / "train.jsonl", [{"prompt": "p", "response": "r"}])
    with pytest.raises(ValueError, match=r"Unknown split \"validation\". Should be one of \['train'\]"):
        load_samples(tmp_path, split="validation")


@pytest.fixture
def hub_calls(monkeypatch):
    """Replace the hub download by in-memory datasets with the real schemas; record the calls."""
    calls = []
    tables = {
        "Anthropic/hh-rlhf": [hh_row("Hi?", "Hello.", "Go away.")],
        "parquet": [comparison("My cat ran away last week and I have looked everywhere, in every street. " * 2)],
    }

    def load_dataset(path, *args, **kwargs):
        calls.append((path, args, kwargs))
        return datasets.Dataset.from_list(tables[path])

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def test_hh_rlhf_is_read_from_the_main_branch_of_its_hub_repository(hub_calls):
    assert load_hh_rlhf()["response"].tolist() == ["Hello.", "Go away."]
    assert hh_rlhf_prompts() == ["\n\nHuman: Hi?\n\nAssistant:"]
    assert hub_calls == [
        ("Anthropic/hh-rlhf", (None,), {"split": "train"}),
        ("Anthropic/hh-rlhf", (None,), {"split": "test"}),
    ]


def test_summarize_from_feedback_is_read_from_the_hub_parquet_conversion_of_comparisons(hub_calls):
    assert len(load_summaries()) == 2 and len(summary_prompts()) == 1
    export = "hf://datasets/openai/summarize_from_feedback@refs%2Fconvert%2Fparquet/comparisons/{}/*.parquet"
    assert hub_calls == [
        ("parquet", (), {"data_files": {"train": export.format("train")}, "split": "train"}),
        ("parquet", (), {"data_files": {"validation": export.format("validation")}, "split": "validation"}),
    ]
