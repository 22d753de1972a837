"""The offline scorers on crafted examples whose right order is obvious: relevance, positivity, brevity."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from paretohqd.rewards import Brevity, Positivity, Relevance, load_reward, minilm_path

torch.set_num_threads(1)

QUESTIONS = [
    "What is the capital of France?",
    "How do I bake bread at home?",
    "Can you recommend a good book about space?",
    "What should I feed my puppy?",
]
ON_TOPIC = [
    "Paris is the capital of France.",
    "Mix flour, water, yeast and salt, let the dough rise, then bake it in a hot oven.",
    "Cosmos by Carl Sagan is a wonderful book about the universe and space exploration.",
    "Puppies need high-quality puppy food, several small meals a day, and fresh water.",
]
OFF_TOPIC = [
    "I enjoy playing tennis on weekends.",
    "The stock market fell sharply on Tuesday.",
    "My favourite colour is green.",
    "The train to Berlin leaves at noon.",
]


@pytest.fixture(scope="module")
def relevance():
    return Relevance(batch_size=4, progress=False)


def test_minilm_files_ship_inside_the_package():
    path = Path(minilm_path())
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()


def test_relevance_prefers_an_on_topic_answer(relevance):
    on = relevance.score(QUESTIONS, ON_TOPIC)
    off = relevance.score(QUESTIONS, OFF_TOPIC)
    assert (on > off + 0.2).all(), (on, off)
    assert ((-1 <= off) & (on <= 1)).all()


def test_relevance_of_a_text_with_itself_is_one(relevance):
    np.testing.assert_allclose(relevance.score(QUESTIONS, QUESTIONS), 1.0, atol=1e-12)


def test_embeddings_are_unit_norm_mean_pools_that_ignore_padding(relevance):
    texts = ["Paris.", ON_TOPIC[1] * 5]  # the short text is padded in the batch with the long one
    embeddings = relevance.embed(texts)
    assert embeddings.shape == (2, 384) and embeddings.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(embeddings[0], relevance.embed(texts[:1])[0], atol=1e-6)


def test_relevance_is_deterministic_and_independent_of_batch_size(relevance):
    prompts, responses = QUESTIONS * 2, ON_TOPIC + OFF_TOPIC
    scores = relevance.score(prompts, responses)
    assert np.array_equal(relevance.score(prompts, responses), scores)
    one_at_a_time = Relevance(batch_size=1, progress=False)
    np.testing.assert_allclose(one_at_a_time.score(prompts, responses), scores, atol=1e-6)


def test_positivity_orders_by_sentiment():
    responses = ["I love this, wonderful!", "The box is red.", "This is awful."]
    scores = Positivity(progress=False).score([""] * 3, responses)
    assert scores[0] > 0.5 and scores[1] == 0.0 and scores[2] < -0.3


def test_positivity_ignores_the_prompt_and_is_deterministic():
    positivity = load_reward("positivity", progress=False)
    responses = ["Great job, thank you so much!", "I hate waiting.", "It is Tuesday."] * 3
    scores = positivity.score(["Hi"] * 9, responses)
    assert np.array_equal(scores, positivity.score(["You are terrible."] * 9, responses))
    assert np.array_equal(scores[:3], scores[3:6]) and ((-1 <= scores) & (scores <= 1)).all()


def test_brevity_is_exp_of_minus_words_over_scale():
    scores = Brevity().score(["p"] * 4, ["Yes.", "Yes, it is.", " ".join(["word"] * 40), " ".join(["word"] * 120)])
    np.testing.assert_allclose(scores, [math.exp(-1 / 40), math.exp(-3 / 40), math.exp(-1), math.exp(-3)])
    assert (np.diff(scores) < 0).all()


def test_brevity_scale_is_configurable():
    score = load_reward("brevity", scale=10).score(["p"], ["one two three four five"])[0]
    assert score == pytest.approx(math.exp(-0.5))


def test_empty_response_is_not_perfectly_brief():
    scores = Brevity().score(["p"] * 3, ["", "   \n", " ".join(["word"] * 400)])
    assert scores[0] == scores[1] == 0.0 and scores[2] > 0.0


@pytest.mark.parametrize("scale", [0, -5.0, float("inf"), float("nan"), "40", True])
def test_brevity_rejects_a_bad_scale(scale):
    with pytest.raises(ValueError, match="scale must be a positive finite number of words"):
        Brevity(scale)
