"""hh-rlhf dialogues become (prompt, response) samples: the last assistant turn, both halves, counted drops, limits."""

import logging

import pytest

import tiny_models
from data_files import datasets_cache, dialogue, hh_row, write_rows  # noqa: F401 (datasets_cache: a fixture)
from paretohqd.data import hh_rlhf_prompts, load_hh_rlhf, split_dialogue

pytestmark = pytest.mark.usefixtures("datasets_cache")

QUESTIONS = ["How do I bake bread?", "What is the capital of France?", "Tell me a joke."]
ROWS = [
    hh_row(QUESTIONS[0], "Mix flour, water and yeast, then bake it.", "Buy it."),
    hh_row(QUESTIONS[1], "Paris.", "London, I think."),
    hh_row(QUESTIONS[2], "Why did the chicken cross the road?", "No."),
]


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_models.bpe_tokenizer(["<|endoftext|>"], eos_token="<|endoftext|>")


def n_tokens(tokenizer, text):
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_prompt_runs_up_to_and_including_the_last_assistant_turn_of_a_multi_turn_dialogue():
    text = dialogue("Hi there.", "Hello! How can I help?", "Name a colour.", " Blue, or green.")
    prompt, response = split_dialogue(text)
    assert prompt == "\n\nHuman: Hi there.\n\nAssistant: Hello! How can I help?\n\nHuman: Name a colour.\n\nAssistant:"
    assert prompt.endswith("\n\nAssistant:") and not prompt.endswith(" ")
    assert response == "Blue, or green."


def test_a_dialogue_without_an_assistant_turn_does_not_split():
    assert split_dialogue("\n\nHuman: Anyone there?") is None
    assert split_dialogue("Human: hi Assistant: hello") is None


def test_the_chosen_and_the_rejected_dialogue_of_every_row_are_both_samples(tmp_path):
    samples = load_hh_rlhf(write_rows(tmp_path / "train.jsonl", ROWS))
    assert list(samples.columns) == ["prompt", "response", "label", "row"]
    assert samples["label"].tolist() == ["chosen", "rejected"] * 3
    assert samples["row"].tolist() == [0, 0, 1, 1, 2, 2]
    assert samples["response"].tolist() == [
        "Mix flour, water and yeast, then bake it.",
        "Buy it.",
        "Paris.",
        "London, I think.",
        "Why did the chicken cross the road?",
        "No.",
    ]
    assert (
        samples["prompt"].iloc[2]
        == samples["prompt"].iloc[3]
        == "\n\nHuman: What is the capital of France?" + ("\n\nAssistant:")
    )


def test_rows_without_an_assistant_turn_or_answer_are_dropped_whole_and_counted(tmp_path, caplog):
    rows = [
        ROWS[0],
        {"chosen": ROWS[1]["chosen"], "rejected": "\n\nHuman: What is the capital of France?"},
        {"chosen": dialogue("Tell me a joke.", "") + "  ", "rejected": ROWS[2]["rejected"]},
        ROWS[2],
    ]
    with caplog.at_level(logging.WARNING, logger="paretohqd.data"):
        samples = load_hh_rlhf(write_rows(tmp_path / "train.jsonl", rows))
    assert samples["row"].tolist() == [0, 0, 3, 3]
    assert len(caplog.records) == 1
    assert "dropped 2 of 4 rows" in caplog.text and "'\\n\\nAssistant:'" in caplog.text


def test_token_limits_drop_samples_with_long_prompts_or_responses(tmp_path, tokenizer, caplog):
    long_question = "Please tell me, at length, how the weather is nice today and why the dog sleeps."
    path = write_rows(tmp_path / "train.jsonl", [*ROWS, hh_row(long_question, "Yes.", "No.")])
    max_prompt = max(n_tokens(tokenizer, dialogue(question) + "\n\nAssistant:") for question in QUESTIONS)
    max_response = n_tokens(tokenizer, "London, I think.")
    assert n_tokens(tokenizer, dialogue(long_question) + "\n\nAssistant:") > max_prompt
    long_answers = ["Mix flour, water and yeast, then bake it.", "Why did the chicken cross the road?"]
    assert min(n_tokens(tokenizer, answer) for answer in long_answers) > max_response
    assert max(n_tokens(tokenizer, answer) for answer in ["Buy it.", "Paris.", "No."]) <= max_response

    with caplog.at_level(logging.INFO, logger="paretohqd.data"):
        samples = load_hh_rlhf(
            path, tokenizer=tokenizer, max_prompt_tokens=max_prompt, max_response_tokens=max_response
        )
    assert samples["response"].tolist() == ["Buy it.", "Paris.", "London, I think.", "No."]
    assert samples["row"].tolist() == [0, 1, 1, 2]
    over = f"a prompt over {max_prompt} tokens or a response over {max_response} tokens"
    assert f"dropped 4 of 8 samples with {over}" in caplog.text


def test_token_limits_need_a_tokenizer_and_must_be_positive(tmp_path, tokenizer):
    path = write_rows(tmp_path / "train.jsonl", ROWS)
    with pytest.raises(ValueError, match="max_prompt_tokens=64 needs a tokenizer"):
        load_hh_rlhf(path, max_prompt_tokens=64)
    with pytest.raises(ValueError, match="max_response_tokens must be a positive integer; got 0"):
        load_hh_rlhf(path, tokenizer=tokenizer, max_response_tokens=0)


def test_eval_prompts_are_the_distinct_prompts_of_every_fourth_test_row(tmp_path):
    questions = ["q0", "q1", "q2", "q3", "q0", "q5", "q6", "q7", "q8", "q9"]
    rows = [hh_row(question, "yes", "no") for question in questions]
    prompts = hh_rlhf_prompts(write_rows(tmp_path / "test.jsonl", rows))
    assert prompts == ["\n\nHuman: q0\n\nAssistant:", "\n\nHuman: q8\n\nAssistant:"]


def test_training_prompts_are_every_distinct_prompt_and_token_limits_apply(tmp_path, tokenizer):
    path = write_rows(tmp_path / "train.jsonl", [*ROWS, ROWS[0]])
    prompts = hh_rlhf_prompts(path, split="train", every=1)
    assert prompts == [dialogue(question) + "\n\nAssistant:" for question in QUESTIONS]
    shortest = min(n_tokens(tokenizer, prompt) for prompt in prompts)
    limited = hh_rlhf_prompts(path, split="train", every=1, tokenizer=tokenizer, max_prompt_tokens=shortest)
    assert limited == [prompt for prompt in prompts if n_tokens(tokenizer, prompt) == shortest]


def test_a_folder_laid_out_like_the_hub_repository_gives_its_train_and_test_splits(tmp_path):
    write_rows(tmp_path / "hh" / "harmless-base" / "train.jsonl.gz", ROWS[:2])
    write_rows(tmp_path / "hh" / "harmless-base" / "test.jsonl.gz", ROWS[2:])
    assert load_hh_rlhf(tmp_path / "hh")["row"].tolist() == [0, 0, 1, 1]
    assert hh_rlhf_prompts(tmp_path / "hh") == ["\n\nHuman: Tell me a joke.\n\nAssistant:"]


def test_a_dialogue_that_is_not_text_is_an_error_naming_the_column_and_row(tmp_path):
    path = write_rows(tmp_path / "train.jsonl", [ROWS[0], {"chosen": None, "rejected": ROWS[1]["rejected"]}])
    with pytest.raises(TypeError, match=r"column 'chosen' must hold strings; rows \[1\] do not \(row 1: None\)"):
        load_hh_rlhf(path)


def test_a_file_without_the_dialogue_columns_names_them_and_lists_what_it_has(tmp_path):
    path = write_rows(tmp_path / "train.jsonl", [{"prompt": "p", "chosen": "c"}])
    with pytest.raises(ValueError, match=r"has no column 'rejected'; its columns: 'prompt', 'chosen'"):
        load_hh_rlhf(path)
