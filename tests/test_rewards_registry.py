"""The reward protocol, the registry of names, and how bad inputs and bad outputs are reported."""

import io
import subprocess
import sys

import numpy as np
import pytest

from paretohqd.rewards import (
    Brevity,
    Reward,
    RewardModel,
    load_reward,
    register_reward,
    reward_names,
    score_all,
)
from paretohqd.rewards.base import progress_bar


class WordCount:
    """A user's reward model that follows the protocol without subclassing anything."""

    def __init__(self, weight: float = 1.0):
        self.name = "words"
        self.weight = weight

    def score(self, prompts, responses):
        return self.weight * np.array([len(r.split()) for r in responses], dtype=float)


class Flaky(Reward):
    """Returns NaN at the rows given."""

    name = "flaky"

    def __init__(self, nan_rows=(), shape=None):
        self.nan_rows, self.shape = list(nan_rows), shape

    def _score(self, prompts, responses):
        scores = np.arange(len(prompts), dtype=float)
        scores[self.nan_rows] = np.nan
        return scores if self.shape is None else np.zeros(self.shape)


def test_all_config_names_are_known():
    expected = {"relevance", "brevity", "positivity", "harmless", "helpful", "humor", "summary", "faithful"}
    assert set(reward_names()) == expected and reward_names() == sorted(expected)


def test_unknown_name_lists_the_known_ones_and_suggests_the_closest():
    with pytest.raises(ValueError) as error:
        load_reward("helpfull")
    message = str(error.value)
    assert message.startswith("unknown reward 'helpfull' (did you mean 'helpful'?); known rewards: brevity, faithful")
    assert all(name in message for name in reward_names())


def test_options_reach_the_factory():
    brevity = load_reward("brevity", scale=20)
    assert isinstance(brevity, Brevity) and brevity.scale == 20.0 and brevity.name == "brevity"


def test_users_register_their_own_reward(own_registry):
    register_reward("words", WordCount)
    model = load_reward("words", weight=2.0)
    assert isinstance(model, RewardModel) and "words" in reward_names()
    assert np.array_equal(model.score(["p", "p"], ["one two", "three"]), [4.0, 2.0])


def test_registering_a_taken_name_needs_overwrite(own_registry):
    with pytest.raises(ValueError, match=r"reward 'brevity' is already registered; pass overwrite=True"):
        register_reward("brevity", WordCount)
    register_reward("brevity", WordCount, overwrite=True)
    assert isinstance(load_reward("brevity"), WordCount)


@pytest.mark.parametrize(
    ("name", "factory", "error", "message"),
    [
        ("", WordCount, ValueError, "reward name must be a non-empty string"),
        (3, WordCount, ValueError, "reward name must be a non-empty string; got 3"),
        ("words", "WordCount", TypeError, "factory for reward 'words' must be callable; got str"),
    ],
)
def test_bad_registrations_are_rejected(own_registry, name, factory, error, message):
    with pytest.raises(error, match=message):
        register_reward(name, factory)


def test_a_factory_must_return_a_reward_model(own_registry):
    register_reward("number", lambda: 42)
    with pytest.raises(TypeError, match=r"the factory of reward 'number' returned a int, not a reward model"):
        load_reward("number")


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match=r"same length .* got 3 prompts and 2 responses"):
        Brevity().score(["a", "b", "c"], ["x", "y"])


def test_non_string_items_are_named():
    with pytest.raises(TypeError, match=r"responses must contain only strings; rows \[1, 3\] are not .*NoneType"):
        Brevity().score(["a"] * 4, ["x", None, "y", b"z"])


@pytest.mark.parametrize("prompts", ["one prompt", 7])
def test_a_lone_string_or_number_is_not_a_batch(prompts):
    with pytest.raises(TypeError, match=r"prompts must be a sequence of strings \(one per sample\)"):
        Brevity().score(prompts, ["x"])


def test_sequences_of_any_kind_are_accepted_and_empty_input_gives_an_empty_array():
    scores = Brevity().score(("a", "b"), np.array(["one", "two words"]))
    assert scores.shape == (2,)
    empty = Brevity().score([], [])
    assert empty.shape == (0,) and empty.dtype == np.float64


def test_nan_scores_name_the_reward_and_the_rows():
    with pytest.raises(ValueError, match=r"reward 'flaky' returned NaN or inf for rows \[1, 3\] of 4"):
        Flaky(nan_rows=[1, 3]).score(["p"] * 4, ["r"] * 4)


def test_many_bad_rows_are_summarised():
    with pytest.raises(ValueError, match=r"rows \[0, 1, 2, 3, 4\] and 2 more of 7"):
        Flaky(nan_rows=range(7)).score(["p"] * 7, ["r"] * 7)


def test_scores_of_the_wrong_shape_are_an_error():
    with pytest.raises(ValueError, match=r"reward 'flaky' returned scores of shape \(2, 2\); expected \(4,\)"):
        Flaky(shape=(2, 2)).score(["p"] * 4, ["r"] * 4)


def test_score_all_stacks_one_column_per_reward_in_order():
    prompts, responses = ["p", "q"], ["one two three", "four"]
    points = score_all([Brevity(scale=10), WordCount()], prompts, responses)
    assert points.shape == (2, 2) and points.dtype == np.float64
    np.testing.assert_allclose(points, [[np.exp(-0.3), 3.0], [np.exp(-0.1), 1.0]])


def test_score_all_checks_protocol_models_too():
    nan_words = WordCount(weight=float("nan"))
    with pytest.raises(ValueError, match=r"reward 'words' returned NaN or inf for rows \[0, 1\] of 2"):
        score_all([Brevity(), nan_words], ["p", "q"], ["a", "b"])
    with pytest.raises(ValueError, match="models is empty"):
        score_all([], ["p"], ["a"])


def test_importing_rewards_does_not_import_torch_or_transformers():
    code = "import sys, paretohqd.rewards; print('torch' in sys.modules, 'transformers' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_progress_bars_are_off_when_asked_or_not_writing_to_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_bar(range(3), total=3, desc="x", enabled=False).disable
    assert progress_bar(range(3), total=3, desc="x", enabled=True).disable
    assert sys.stderr.getvalue() == ""
