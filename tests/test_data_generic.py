"""The user's own samples and prompts: every format round-trips, custom columns, rewards as floats, bad input."""

import logging
import math

import datasets
import numpy as np
import pandas as pd
import pytest

from data_files import datasets_cache, write_rows  # noqa: F401 (datasets_cache: a fixture)
from paretohqd.data import load_prompts, load_samples

pytestmark = pytest.mark.usefixtures("datasets_cache")

ROWS = [
    {"prompt": "What is the capital of France?", "response": "Paris.", "harmless": 0.5, "helpful": 1},
    {"prompt": "How many legs has a cat?", "response": "4", "harmless": -1.25, "helpful": 2},
    {"prompt": "Say no.", "response": "NA", "harmless": 3e-3, "helpful": -7},
]
REWARDS = ["harmless", "helpful"]
EXPECTED = pd.DataFrame(
    {
        "prompt": [row["prompt"] for row in ROWS],
        "response": ["Paris.", "4", "NA"],
        "harmless": [0.5, -1.25, 3e-3],
        "helpful": [1.0, 2.0, -7.0],
        "row": [0, 1, 2],
    }
)


def save_dataset(path):
    datasets.Dataset.from_list(ROWS).save_to_disk(str(path))
    return path


def save_dataset_dict(path):
    datasets.DatasetDict(
        train=datasets.Dataset.from_list(ROWS), test=datasets.Dataset.from_list(ROWS[:1])
    ).save_to_disk(str(path))
    return path


def data_folder(path):
    write_rows(path / "train.jsonl", ROWS)
    write_rows(path / "test.jsonl", ROWS[:1])
    return path


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: write_rows(tmp / "pool.jsonl", ROWS),
        lambda tmp: write_rows(tmp / "pool.jsonl.gz", ROWS),
        lambda tmp: write_rows(tmp / "pool.json", ROWS),
        lambda tmp: write_rows(tmp / "pool.csv", ROWS),
        lambda tmp: write_rows(tmp / "pool.parquet", ROWS),
        lambda tmp: save_dataset(tmp / "saved"),
        lambda tmp: save_dataset_dict(tmp / "saved_dict"),
        lambda tmp: data_folder(tmp / "folder"),
    ],
    ids=["jsonl", "jsonl.gz", "json", "csv", "parquet", "save_to_disk", "save_to_disk_dict", "folder"],
)
def test_every_source_format_round_trips_texts_exactly_and_rewards_as_float64(tmp_path, make):
    samples = load_samples(make(tmp_path), reward_columns=REWARDS)
    pd.testing.assert_frame_equal(samples, EXPECTED, check_dtype=False)
    assert samples["harmless"].dtype == samples["helpful"].dtype == np.float64
    assert all(isinstance(text, str) for text in samples["response"])  # "4" and "NA" stay text, even in CSV


def test_the_split_picks_the_files_or_the_saved_split_of_that_name(tmp_path):
    assert load_samples(data_folder(tmp_path / "folder"), split="test")["prompt"].tolist() == [ROWS[0]["prompt"]]
    assert load_samples(save_dataset_dict(tmp_path / "saved"), split="test")["prompt"].tolist() == [ROWS[0]["prompt"]]
    with pytest.raises(ValueError, match=r"has no split 'validation'; its splits: 'train', 'test'"):
        load_samples(tmp_path / "saved", split="validation")


def test_custom_column_names_become_prompt_and_response_and_other_columns_are_left_out(tmp_path):
    rows = [{"question": "Hi?", "answer": "Hello.", "id": 7, "score": "0.25"}]
    samples = load_samples(
        write_rows(tmp_path / "mine.csv", rows),
        prompt_column="question",
        response_column="answer",
        reward_columns=["score"],
    )
    assert samples.to_dict("records") == [{"prompt": "Hi?", "response": "Hello.", "score": 0.25, "row": 0}]


def test_without_reward_columns_only_texts_and_rows_come_back(tmp_path):
    samples = load_samples(write_rows(tmp_path / "pool.parquet", ROWS))
    assert list(samples.columns) == ["prompt", "response", "row"]


def test_a_missing_column_is_named_with_the_columns_present(tmp_path):
    path = write_rows(tmp_path / "pool.jsonl", ROWS)
    with pytest.raises(ValueError, match=r"has no column 'humor'; its columns: 'prompt', 'response', 'harmless'"):
        load_samples(path, reward_columns=["harmless", "humor"])
    with pytest.raises(ValueError, match=r"has no column 'question'"):
        load_samples(path, prompt_column="question")


def test_prompts_or_responses_that_are_not_text_are_errors_naming_the_column_and_rows(tmp_path):
    rows = [dict(ROWS[0]), {**ROWS[1], "prompt": 42}, {**ROWS[2], "prompt": None}]
    with pytest.raises(TypeError, match=r"column 'prompt' must hold strings; rows \[1, 2\] do not \(row 1: 42\)"):
        load_samples(write_rows(tmp_path / "pool.jsonl", rows))
    with pytest.raises(TypeError, match=r"column 'helpful' must hold strings; rows \[0, 1, 2\] do not \(row 0: 1\)"):
        load_samples(write_rows(tmp_path / "pool.parquet", ROWS), response_column="helpful")


def test_rewards_that_are_missing_nan_or_not_numbers_are_errors_naming_the_column_and_rows(tmp_path):
    rows = [dict(ROWS[0]), {**ROWS[1], "helpful": None}, {**ROWS[2], "helpful": None}]
    message = r"reward column 'helpful' must hold finite numbers; rows \[1, 2\] do not"
    with pytest.raises(ValueError, match=message + r" \(row 1: None\)"):
        load_samples(write_rows(tmp_path / "pool.jsonl", rows), reward_columns=REWARDS)
    rows = [dict(ROWS[0]), {**ROWS[1], "helpful": math.nan}, {**ROWS[2], "helpful": math.nan}]
    with pytest.raises(ValueError, match=message + r" \(row 1: nan\)"):
        load_samples(write_rows(tmp_path / "pool.parquet", rows), reward_columns=REWARDS)
    (tmp_path / "pool.csv").write_text("prompt,response,harmless,helpful\na,b,1,2\nc,d,1,\ne,f,1,n/a\n")
    with pytest.raises(ValueError, match=message + r" \(row 1: ''\)"):
        load_samples(tmp_path / "pool.csv", reward_columns=REWARDS)


def test_an_infinite_reward_is_an_error(tmp_path):
    rows = [dict(ROWS[0]), {**ROWS[1], "harmless": math.inf}]
    with pytest.raises(ValueError, match=r"'harmless' must hold finite numbers; rows \[1\] do not \(row 1: inf\)"):
        load_samples(write_rows(tmp_path / "pool.parquet", rows), reward_columns=REWARDS)


def test_samples_with_an_empty_prompt_or_response_are_dropped_and_counted(tmp_path, caplog):
    rows = [ROWS[0], {**ROWS[1], "response": "  \n"}, {**ROWS[2], "prompt": ""}, {"prompt": "Hi", "response": "Hey"}]
    with caplog.at_level(logging.WARNING, logger="paretohqd.data"):
        samples = load_samples(write_rows(tmp_path / "pool.jsonl", rows))
    assert samples["row"].tolist() == [0, 3]
    assert "dropped 2 of 4 samples with an empty or whitespace-only prompt or response" in caplog.text


def test_repeated_prompt_response_pairs_are_dropped_after_the_first_and_counted(tmp_path, caplog):
    rows = [ROWS[0], ROWS[1], {**ROWS[0], "harmless": 9.0}, {**ROWS[0], "response": "Paris, France."}]
    with caplog.at_level(logging.WARNING, logger="paretohqd.data"):
        samples = load_samples(write_rows(tmp_path / "pool.jsonl", rows), reward_columns=REWARDS)
    assert samples["row"].tolist() == [0, 1, 3]
    assert samples["harmless"].tolist() == [0.5, -1.25, 0.5]
    assert "dropped 1 of 4 repeated (prompt, response) pairs" in caplog.text


@pytest.mark.parametrize(
    ("reward_columns", "error", "message"),
    [
        ("harmless", TypeError, "reward_columns must be a sequence of column names; got 'harmless'"),
        (["harmless", "harmless"], ValueError, "reward_columns names 'harmless' more than once"),
        (["prompt"], ValueError, "reward_columns 'prompt' clash with the text columns or the output columns"),
        (["row"], ValueError, "reward_columns 'row' clash"),
    ],
)
def test_reward_column_names_must_be_distinct_names_of_their_own(tmp_path, reward_columns, error, message):
    with pytest.raises(error, match=message):
        load_samples(write_rows(tmp_path / "pool.jsonl", ROWS), reward_columns=reward_columns)


def test_prompts_are_the_distinct_non_empty_texts_of_their_column_in_order(tmp_path, caplog):
    rows = [{"text": "b?"}, {"text": "a?"}, {"text": " "}, {"text": "b?"}, {"text": "c?"}]
    with caplog.at_level(logging.WARNING, logger="paretohqd.data"):
        prompts = load_prompts(write_rows(tmp_path / "prompts.jsonl", rows), prompt_column="text")
    assert prompts == ["b?", "a?", "c?"]
    assert "dropped 1 of 5 empty or whitespace-only prompts" in caplog.text
    assert "dropped 1 of 4 repeated prompts" in caplog.text


def test_prompts_that_are_not_text_are_an_error(tmp_path):
    with pytest.raises(TypeError, match=r"column 'prompt' must hold strings; rows \[1\] do not \(row 1: None\)"):
        load_prompts(write_rows(tmp_path / "prompts.jsonl", [{"prompt": "a"}, {"prompt": None}]))
