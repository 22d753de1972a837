"""chatterbot-corpus prompts: the English first turns, and a train/eval split that depends on each text only."""

import logging

import pytest

from paretohqd.data import chatterbot_first_turns, chatterbot_prompts, split_prompts


@pytest.fixture(scope="module")
def english():
    return chatterbot_first_turns()


def test_the_english_corpus_has_748_distinct_first_turns_all_normalised_text(english):
    assert len(english) == 748 == len(set(english))
    assert all(isinstance(prompt, str) and prompt and prompt == " ".join(prompt.split()) for prompt in english)
    assert english[:3] == ["What is AI?", "Are you sentient?", "Are you sapient?"]  # ai.yml comes first
    assert english[-1] == "On every continent there is a city named what?"  # trivia.yml comes last
    assert "EACH YEAR IN PRO BASEBALL THE" in english  # written with a trailing space in the corpus


def test_the_one_conversation_yaml_reads_as_a_string_is_skipped_and_counted(caplog):
    with caplog.at_level(logging.INFO, logger="paretohqd.data"):
        prompts = chatterbot_first_turns()
    assert "chatterbot-corpus english: dropped 1 of 2026 conversations" in caplog.text
    assert not any("two little ducks" in prompt for prompt in prompts)


def test_an_unknown_language_lists_the_languages_shipped():
    with pytest.raises(ValueError, match=r"no language 'klingon'; it has: bengali, chinese, .*english, .*yoruba"):
        chatterbot_first_turns("klingon")


def test_the_default_split_is_disjoint_covers_every_prompt_and_is_the_same_in_every_run(english):
    train, evaluation = chatterbot_prompts("train"), chatterbot_prompts("eval")
    assert (len(train), len(evaluation)) == (600, 148)
    assert set(train).isdisjoint(evaluation) and sorted(train + evaluation) == sorted(english)
    # Pinned values: a split through Python's hash() would change from one process to the next.
    assert evaluation[:4] == [
        "You do not make any sense",
        "It is a computer",
        "What is a chat robot?",
        "What is a chat bot",
    ]
    assert train[:2] == ["What is AI?", "Are you sentient?"]
    assert (train, evaluation) == split_prompts(english)


def test_a_prompt_lands_in_the_same_part_whatever_the_other_prompts(english):
    train, evaluation = split_prompts(english)
    some_train, some_eval = split_prompts(english[::-3])
    assert set(some_train) <= set(train) and set(some_eval) <= set(evaluation)
    assert some_train == [prompt for prompt in english[::-3] if prompt in set(train)]


def test_the_eval_fraction_sets_the_share_of_eval_prompts(english):
    assert [len(part) for part in split_prompts(english, eval_fraction=0.5)] == [371, 377]
    assert len(chatterbot_prompts("eval", eval_fraction=0.05)) < 148


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, float("nan"), True, "0.2"])
def test_the_eval_fraction_must_lie_strictly_between_0_and_1(fraction):
    with pytest.raises(ValueError, match="eval_fraction must be a number strictly between 0 and 1"):
        split_prompts(["a", "b"], eval_fraction=fraction)


def test_only_train_and_eval_are_splits():
    with pytest.raises(ValueError, match="split must be 'train' or 'eval'; got 'test'"):
        chatterbot_prompts("test")
