"""HFRewardModel with tiny random classifiers saved to local folders: input formats, batching, logits, padding."""

import dataclasses

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import tiny_models
from paretohqd.rewards import HF_PRESETS, HFRewardConfig, HFRewardModel, hf_preset, load_reward

torch.set_num_threads(1)

PROMPTS = [
    "Human: How do I bake bread at home?\n\nAssistant:",
    "Human: What is the capital of France?\n\nAssistant:",
    "Human: Hi\n\nAssistant:",
    "Human: Tell me something nice about the weather today, please.\n\nAssistant:",
    "Human: Is the dog asleep?\n\nAssistant:",
]
RESPONSES = [
    "Mix flour, water, salt and yeast, then bake it for forty minutes.",
    "Paris.",
    "Hello! How can I help you today with bread, cats or the weather?",
    "The weather is nice today.",
    "Yes, the dog sleeps.",
]
POSTS = ["My cat ran away last week and I miss her.", "The weather is nice today and the dog sleeps in the sun."]
SUMMARIES = ["Cat ran away.", "Nice weather, sleeping dog."]
TLDR = "### Instruction: Generate a one-sentence summary of this post. ### Input: {} ### Response: "


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    return tiny_models.save_gpt2_classifier(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="module")
def gpt2_two_labels_dir(tmp_path_factory):
    return tiny_models.save_gpt2_classifier(tmp_path_factory.mktemp("gpt2_2"), num_labels=2, seed=1)


@pytest.fixture(scope="module")
def bart_dir(tmp_path_factory):
    return tiny_models.save_bart_classifier(tmp_path_factory.mktemp("bart"))


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return tiny_models.save_bert_classifier(tmp_path_factory.mktemp("bert"))


def reference_scores(path, texts, pairs=None, label=0, max_length=None):
    """The model-card recipe: tokenize one sample at a time (no padding), forward, read one logit."""
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, dtype=torch.float32).eval()
    pairs = pairs if pairs is not None else [None] * len(texts)
    scores = []
    with torch.inference_mode():
        for text, pair in zip(texts, pairs, strict=True):
            inputs = tokenizer(text, pair, truncation=True, max_length=max_length, return_tensors="pt")
            scores.append(model(**inputs).logits[0, label].item())
    return np.array(scores)


def reward(path, **options):
    return HFRewardModel(HFRewardConfig(path, name="tiny", progress=False, **options))


def test_pair_format_feeds_prompt_and_response_as_a_text_pair(gpt2_dir):
    rm = reward(gpt2_dir, input_format="pair")
    assert rm.texts(PROMPTS, RESPONSES) == (PROMPTS, RESPONSES)
    scores = rm.score(PROMPTS, RESPONSES)
    assert scores.dtype == np.float64 and scores.shape == (len(PROMPTS),)
    np.testing.assert_allclose(scores, reference_scores(gpt2_dir, PROMPTS, RESPONSES), atol=1e-5)


def test_gpt2_pair_is_the_two_token_sequences_back_to_back(gpt2_dir):
    """GPT-2 tokenizers have no pair template: the model reads the prompt's tokens then the response's."""
    rm = reward(gpt2_dir, input_format="pair")
    pair_ids = rm.tokenizer(PROMPTS[0], RESPONSES[0])["input_ids"]
    assert pair_ids == rm.tokenizer(PROMPTS[0])["input_ids"] + rm.tokenizer(RESPONSES[0])["input_ids"]


def test_concat_format_joins_prompt_and_response_with_the_separator(gpt2_dir):
    rm = reward(gpt2_dir, input_format="concat", separator="\n")
    expected = [f"{p}\n{r}" for p, r in zip(PROMPTS, RESPONSES, strict=True)]
    assert rm.texts(PROMPTS, RESPONSES) == (expected, None)
    np.testing.assert_allclose(rm.score(PROMPTS, RESPONSES), reference_scores(gpt2_dir, expected), atol=1e-5)


def test_response_format_ignores_the_prompt(gpt2_dir):
    rm = reward(gpt2_dir, input_format="response")
    scores = rm.score(PROMPTS, RESPONSES)
    assert np.array_equal(scores, rm.score(["another prompt"] * len(RESPONSES), RESPONSES))
    np.testing.assert_allclose(scores, reference_scores(gpt2_dir, RESPONSES), atol=1e-5)


def test_summary_preset_reads_summary_bos_post_with_the_post_cut_from_the_prompt(gpt2_dir):
    rm = load_reward("summary", model=gpt2_dir, progress=False)
    prompts = [TLDR.format(post) for post in POSTS]
    expected = [f"{s} <|endoftext|> {p}" for s, p in zip(SUMMARIES, POSTS, strict=True)]
    assert rm.name == "summary"
    assert rm.texts(prompts, SUMMARIES) == (expected, None)
    np.testing.assert_allclose(rm.score(prompts, SUMMARIES), reference_scores(gpt2_dir, expected), atol=1e-5)


def test_prompt_pattern_falls_back_to_the_whole_prompt_when_it_does_not_match(gpt2_dir):
    rm = load_reward("summary", model=gpt2_dir, progress=False)
    texts, _ = rm.texts([POSTS[0], TLDR.format(POSTS[0])], SUMMARIES[:1] * 2)
    assert texts[0] == texts[1] == f"{SUMMARIES[0]} <|endoftext|> {POSTS[0]}"


def test_faithful_preset_reads_summary_as_text_and_post_as_text_pair(bart_dir):
    rm = load_reward("faithful", model=bart_dir, progress=False)
    prompts = [TLDR.format(post) for post in POSTS]
    assert rm.texts(prompts, SUMMARIES) == (SUMMARIES, POSTS)
    tokens = rm.tokenizer.convert_ids_to_tokens(rm.tokenizer(SUMMARIES[0], POSTS[0])["input_ids"])
    assert tokens[0] == "<s>" and tokens.count("</s>") == 3
    assert rm.tokenizer.convert_tokens_to_string(tokens[1 : tokens.index("</s>")]) == SUMMARIES[0]
    reference = reference_scores(bart_dir, SUMMARIES, POSTS, label=1)
    np.testing.assert_allclose(rm.score(prompts, SUMMARIES), reference, atol=1e-5)


def test_pair_format_passes_token_types_to_models_that_use_them(bert_dir):
    rm = reward(bert_dir, input_format="pair", label_index=1)
    assert rm.tokenizer(PROMPTS[0], RESPONSES[0])["token_type_ids"][-1] == 1
    reference = reference_scores(bert_dir, PROMPTS, RESPONSES, label=1)
    np.testing.assert_allclose(rm.score(PROMPTS, RESPONSES), reference, atol=1e-5)


@pytest.mark.parametrize(
    ("model", "options"),
    [
        ("gpt2_dir", {"input_format": "pair"}),
        ("gpt2_two_labels_dir", {"input_format": "response_bos_prompt", "label_index": 1}),
        ("bart_dir", {"input_format": "response_prompt_pair", "label_index": 1}),
        ("bert_dir", {"input_format": "concat", "label_index": 0}),
    ],
)
def test_batch_size_and_length_sorting_do_not_change_scores(request, model, options):
    path = request.getfixturevalue(model)
    one = reward(path, batch_size=1, **options).score(PROMPTS, RESPONSES)
    four = reward(path, batch_size=4, **options)
    batched = four.score(PROMPTS, RESPONSES)
    np.testing.assert_allclose(batched, one, rtol=1e-5, atol=1e-6)
    assert np.array_equal(four.score(PROMPTS, RESPONSES), batched)  # deterministic
    reversed_order = four.score(PROMPTS[::-1], RESPONSES[::-1])
    np.testing.assert_allclose(reversed_order[::-1], batched, rtol=1e-5, atol=1e-6)


def test_label_index_picks_that_logit_of_a_two_label_model(gpt2_two_labels_dir):
    first = reward(gpt2_two_labels_dir, input_format="response", label_index=0).score(PROMPTS, RESPONSES)
    second = reward(gpt2_two_labels_dir, input_format="response", label_index=1).score(PROMPTS, RESPONSES)
    np.testing.assert_allclose(first, reference_scores(gpt2_two_labels_dir, RESPONSES, label=0), atol=1e-5)
    np.testing.assert_allclose(second, reference_scores(gpt2_two_labels_dir, RESPONSES, label=1), atol=1e-5)
    assert not np.allclose(first, second)


def test_two_label_model_without_label_index_is_an_error(gpt2_two_labels_dir):
    with pytest.raises(ValueError, match=r"reward 'tiny': the model has 2 labels; set label_index"):
        reward(gpt2_two_labels_dir)


@pytest.mark.parametrize("label_index", [2, -1, True])
def test_label_index_out_of_range_is_an_error(gpt2_two_labels_dir, label_index):
    with pytest.raises(ValueError, match=r"label_index must be an integer in 0..1 for a model with 2 label"):
        reward(gpt2_two_labels_dir, label_index=label_index)


def test_missing_pad_token_becomes_eos_and_the_model_config_knows_it(gpt2_dir):
    rm = reward(gpt2_dir)
    assert rm.tokenizer.pad_token == rm.tokenizer.eos_token == "<|endoftext|>"
    assert rm.model.config.pad_token_id == rm.tokenizer.eos_token_id
    assert rm.tokenizer.padding_side == "right"
    # A short row padded next to a long one scores as it does alone: the classifier reads its last real token.
    together = rm.score([PROMPTS[2], PROMPTS[0]], ["Yes.", RESPONSES[0] * 3])
    alone = rm.score([PROMPTS[2]], ["Yes."])
    np.testing.assert_allclose(together[0], alone[0], atol=1e-6)


def test_long_inputs_are_truncated_to_the_smallest_limit(tmp_path, gpt2_dir):
    assert reward(gpt2_dir).max_length == 128  # the tokenizer's model_max_length
    assert reward(gpt2_dir, max_length=16).max_length == 16
    unbounded = tiny_models.save_gpt2_classifier(tmp_path / "unbounded", model_max_length=None)
    assert reward(unbounded).max_length == 256  # the model's positions, below the 1024 default
    long_response = " ".join(RESPONSES * 20)
    rm = reward(gpt2_dir, max_length=16, input_format="response")
    reference = reference_scores(gpt2_dir, [long_response], max_length=16)
    np.testing.assert_allclose(rm.score(["p"], [long_response]), reference, atol=1e-5)
    assert np.isfinite(reward(unbounded, input_format="response").score(["p"], [long_response])).all()


def test_dtype_and_device_options(gpt2_dir):
    rm = reward(gpt2_dir, dtype="bfloat16", device="cpu")
    assert rm.model.dtype == torch.bfloat16 and rm.device == "cpu"
    scores = rm.score(PROMPTS, RESPONSES)
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, reward(gpt2_dir).score(PROMPTS, RESPONSES), atol=0.05)


def test_nan_logits_raise_naming_the_reward_and_rows(gpt2_dir):
    rm = reward(gpt2_dir)
    with torch.no_grad():
        rm.model.score.weight.fill_(float("nan"))
    with pytest.raises(ValueError, match=r"reward 'tiny' returned NaN or inf for rows \[0, 1, 2\] of 3"):
        rm.score(PROMPTS[:3], RESPONSES[:3])


def test_rows_without_tokens_are_an_error_naming_them(gpt2_dir):
    rm = reward(gpt2_dir, input_format="response")
    with pytest.raises(ValueError, match=r"reward 'tiny': rows \[1\] have no tokens in input format 'response'"):
        rm.score(["a", "b", "c"], ["fine", "", "fine"])


def test_presets_are_the_papers_models_and_formats():
    table = {
        name: (c.model, c.input_format, c.label_index, c.prompt_pattern is not None) for name, c in HF_PRESETS.items()
    }
    assert table == {
        "harmless": ("Ray2333/gpt2-large-harmless-reward_model", "pair", None, False),
        "helpful": ("Ray2333/gpt2-large-helpful-reward_model", "pair", None, False),
        "humor": ("mohameddhiab/humor-no-humor", "response", 1, False),
        "summary": ("Tristan/gpt2_reward_summarization", "response_bos_prompt", None, True),
        "faithful": ("CogComp/bart-faithful-summary-detector", "response_prompt_pair", 1, True),
    }
    assert all(c.name == name and not c.trust_remote_code for name, c in HF_PRESETS.items())


def test_preset_overrides_are_config_fields(gpt2_dir):
    rm = hf_preset("harmless", model=gpt2_dir, batch_size=2, progress=False)
    assert rm.name == "harmless" and rm.config.batch_size == 2 and rm.config.input_format == "pair"
    with pytest.raises(TypeError, match="unexpected keyword argument 'batchsize'"):
        hf_preset("harmless", model=gpt2_dir, batchsize=2)
    with pytest.raises(ValueError, match=r"unknown reward-model preset 'harmful'; known: faithful, harmless"):
        hf_preset("harmful")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("input_format", "prompt+response", r"input_format must be one of pair, concat, response, response_bos_prompt"),
        ("batch_size", 0, r"batch_size must be a positive integer; got 0"),
        ("max_length", 1.5, r"max_length must be a positive integer; got 1.5"),
        ("prompt_pattern", "### Input:", r"prompt_pattern needs a group"),
        ("prompt_pattern", "(", r"prompt_pattern '\(' is not a valid regex"),
        ("dtype", "float8", r"dtype must be one of float32, bfloat16, float16, auto; got 'float8'"),
    ],
)
def test_invalid_options_are_rejected_with_the_option_named(gpt2_dir, field, value, message):
    config = dataclasses.replace(HFRewardConfig(gpt2_dir), **{field: value})
    with pytest.raises(ValueError, match=message):
        HFRewardModel(config)
