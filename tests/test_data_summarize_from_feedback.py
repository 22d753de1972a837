"""summarize_from_feedback comparisons become samples: the exact template, length limits, both summaries, news rows."""

import logging
import re

import pytest

from data_files import COMPARISONS_SCHEMA, comparison, datasets_cache, write_rows  # noqa: F401 (datasets_cache: a fixture)
from paretohqd.data import SUMMARY_TEMPLATE, load_summaries, summary_prompt, summary_prompts
from paretohqd.rewards.hf import TLDR_POST_PATTERN

pytestmark = pytest.mark.usefixtures("datasets_cache")


def post(n_chars: int, word: str = "cat") -> str:
    """A post of exactly n_chars characters."""
    return (f"My {word} ran away. " * n_chars)[: n_chars - 1] + "."


def test_the_prompt_template_is_exact_and_the_summary_rewards_find_the_post_in_it():
    assert SUMMARY_TEMPLATE == (
        "### Instruction: Generate a one-sentence summary of this post. ### Input: {post} ### Response: "
    )
    prompt = summary_prompt("My cat ran away.")
    assert prompt == (
        "### Instruction: Generate a one-sentence summary of this post. ### Input: My cat ran away. ### Response: "
    )
    assert re.search(TLDR_POST_PATTERN, prompt).group(1).strip() == "My cat ran away."


def test_posts_of_100_to_1200_characters_are_kept_and_the_others_counted(tmp_path, caplog):
    rows = [comparison(post(n), post_id=f"t3_{n}") for n in (99, 100, 1200, 1201)]
    with caplog.at_level(logging.INFO, logger="paretohqd.data"):
        samples = load_summaries(write_rows(tmp_path / "train.jsonl", rows))
    assert samples["post_id"].tolist() == ["t3_100", "t3_100", "t3_1200", "t3_1200"]
    assert samples["prompt"].iloc[0] == summary_prompt(post(100))
    assert "dropped 2 of 4 posts outside 100..1200 characters" in caplog.text


def test_length_limits_are_configurable_and_checked(tmp_path):
    path = write_rows(tmp_path / "train.jsonl", [comparison(post(n), post_id=f"t3_{n}") for n in (40, 99, 100)])
    assert load_summaries(path, min_chars=40, max_chars=99)["post_id"].tolist() == ["t3_40", "t3_40", "t3_99"] + [
        "t3_99"
    ]
    with pytest.raises(ValueError, match=r"min_chars \(200\) must not exceed max_chars \(100\)"):
        load_summaries(path, min_chars=200, max_chars=100)


def test_both_summaries_are_samples_stripped_and_labelled_by_the_choice(tmp_path):
    rows = [
        comparison(post(150), ["  Cat gone.\n", "My cat ran away and I miss her."], choice=1, post_id="t3_x"),
        comparison(post(160, "dog"), ["Dog ran.", "Lost dog."], choice=0, post_id="t3_y"),
    ]
    samples = load_summaries(write_rows(tmp_path / "train.jsonl", rows))
    assert list(samples.columns) == ["prompt", "response", "label", "post_id", "row"]
    assert samples["response"].tolist() == ["Cat gone.", "My cat ran away and I miss her.", "Dog ran.", "Lost dog."]
    assert samples["label"].tolist() == ["rejected", "chosen", "chosen", "rejected"]
    assert samples["row"].tolist() == [0, 0, 1, 1]
    assert samples["prompt"].tolist() == [summary_prompt(post(150))] * 2 + [summary_prompt(post(160, "dog"))] * 2


def test_the_post_is_stripped_and_its_length_measured_without_surrounding_whitespace(tmp_path):
    rows = [comparison("\n  " + post(100) + "  \n")]
    samples = load_summaries(write_rows(tmp_path / "train.jsonl", rows))
    assert samples["prompt"].iloc[0] == summary_prompt(post(100))


def test_news_rows_without_a_post_use_the_article(tmp_path):
    article = post(300, "editor")
    rows = [comparison(post(120)), comparison(None, ["Editor quits.", "An editor left."], article=article)]
    samples = load_summaries(write_rows(tmp_path / "validation.jsonl", rows), split="validation")
    assert samples["prompt"].tolist()[2:] == [summary_prompt(article)] * 2


def test_rows_without_text_and_empty_summaries_are_dropped_and_counted(tmp_path, caplog):
    rows = [comparison(post(120), ["   ", "A summary."]), comparison(None), comparison(post(130), ["One.", "Two."])]
    with caplog.at_level(logging.WARNING, logger="paretohqd.data"):
        samples = load_summaries(write_rows(tmp_path / "train.jsonl", rows))
    assert samples["response"].tolist() == ["A summary.", "One.", "Two."]
    assert "dropped 1 of 3 rows without post or article text" in caplog.text
    assert "dropped 1 of 4 empty summaries" in caplog.text


def test_eval_prompts_come_from_the_validation_split_one_per_post(tmp_path):
    folder = tmp_path / "comparisons"
    write_rows(folder / "train" / "0000.parquet", [comparison(post(500, "train"))], COMPARISONS_SCHEMA)
    rows = [
        comparison(post(200), ["A.", "B."]),
        comparison(post(300, "dog"), ["C.", "D."]),
        comparison(post(200), ["E.", "F."], choice=1),
        comparison(post(90, "bird")),
        comparison(None, article=post(250, "editor")),
    ]
    write_rows(folder / "validation" / "0000.parquet", rows, COMPARISONS_SCHEMA)
    assert summary_prompts(folder) == [summary_prompt(post(200)), summary_prompt(post(300, "dog"))] + [
        summary_prompt(post(250, "editor"))
    ]
    assert summary_prompts(folder, split="train") == [summary_prompt(post(500, "train"))]
    assert load_summaries(folder)["response"].tolist() == ["A short summary.", "Another summary."]


def test_comparisons_that_are_not_two_summaries_and_a_choice_of_0_or_1_are_errors_naming_rows(tmp_path):
    rows = [comparison(post(120)), comparison(post(120), choice=2), comparison(post(120), ["Only one."])]
    with pytest.raises(ValueError, match=r"rows \[1, 2\] do not \(row 1: summaries=.*choice=2\)"):
        load_summaries(write_rows(tmp_path / "train.jsonl", rows))


def test_a_file_without_the_comparison_columns_names_them(tmp_path):
    with pytest.raises(ValueError, match=r"has no column 'summaries', 'choice'; its columns: 'info'"):
        load_summaries(write_rows(tmp_path / "train.jsonl", [{"info": {"post": post(120)}}]))
