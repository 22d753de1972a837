import json

import numpy as np
import pandas as pd
import pytest

from paretohqd.data.scoring import load_pool, pool_key, score_pool
from paretohqd.rewards import register_reward
from paretohqd.rewards.base import Reward


class CountingLength(Reward):
    """Response length in characters; counts how many samples it scored (class-wide) and can fail on demand."""

    calls = 0
    fail_after = None

    def __init__(self, name="chars"):
        self.name = name

    def _score(self, prompts, responses):
        if CountingLength.fail_after is not None and CountingLength.calls >= CountingLength.fail_after:
            raise RuntimeError("scorer crashed")
        CountingLength.calls += len(responses)
        return np.array([float(len(r)) for r in responses])


@pytest.fixture(autouse=True)
def counting_reward(own_registry):
    register_reward("test-chars", CountingLength)
    CountingLength.calls = 0
    CountingLength.fail_after = None


def make_frame(n=10):
    return pd.DataFrame(
        {"prompt": [f"question {i}" for i in range(n)], "response": ["word " * (i + 1) for i in range(n)]}
    )


def test_scores_every_sample_under_every_objective_and_writes_stats(tmp_path):
    pool = score_pool(make_frame(), ["test-chars", "brevity"], tmp_path, chunk_size=3, progress=False)
    assert pool.objectives == ("test-chars", "brevity")
    assert pool.rewards.shape == (10, 2)
    assert pool.frame["test-chars"].tolist() == [float(len("word " * (i + 1))) for i in range(10)]
    assert np.allclose(pool.frame["brevity"], np.exp(-np.arange(1, 11) / 40))
    stats = json.loads((pool.path / "stats.json").read_text())["stats"]
    assert stats["test-chars"]["count"] == 10
    assert stats["test-chars"]["min"] == 5.0 and stats["test-chars"]["max"] == 50.0
    assert not (pool.path / "chunks").exists()


def test_same_pool_and_rewards_is_a_cache_hit(tmp_path):
    first = score_pool(make_frame(), ["test-chars"], tmp_path, progress=False)
    assert CountingLength.calls == 10
    second = score_pool(make_frame(), ["test-chars"], tmp_path, progress=False)
    assert CountingLength.calls == 10
    assert second.path == first.path
    pd.testing.assert_frame_equal(second.frame, first.frame)
    assert load_pool(first.path).objectives == ("test-chars",)


def test_cache_key_depends_on_samples_and_reward_options():
    frame = make_frame()
    base = pool_key(frame, ["brevity"], {})
    assert pool_key(frame, ["brevity"], {"brevity": {"scale": 20}}) != base
    assert pool_key(frame.iloc[::-1], ["brevity"], {}) != base
    assert pool_key(frame, ["brevity"], {}) == base


def test_interrupted_scoring_resumes_from_finished_chunks(tmp_path):
    CountingLength.fail_after = 6  # two chunks of 3 succeed, the third crashes
    with pytest.raises(RuntimeError, match="scorer crashed"):
        score_pool(make_frame(), ["test-chars"], tmp_path, chunk_size=3, progress=False)
    CountingLength.fail_after = None
    CountingLength.calls = 0
    pool = score_pool(make_frame(), ["test-chars"], tmp_path, chunk_size=3, progress=False)
    assert CountingLength.calls == 4  # only the last two chunks (3 + 1 samples) were scored again
    uninterrupted = score_pool(make_frame(), ["test-chars"], tmp_path / "fresh", chunk_size=3, progress=False)
    pd.testing.assert_frame_equal(pool.frame, uninterrupted.frame)


def test_empty_responses_and_duplicates_are_dropped_and_counted(tmp_path, caplog):
    frame = pd.DataFrame({"prompt": ["a", "a", "b", "c"], "response": ["x y", "x y", "   ", "z"]})
    pool = score_pool(frame, ["test-chars"], tmp_path, progress=False)
    assert pool.frame[["prompt", "response"]].values.tolist() == [["a", "x y"], ["c", "z"]]
    assert "pool: dropped 1 of 4 samples with an empty or whitespace-only prompt or response" in caplog.text
    assert "pool: dropped 1 of 3 repeated (prompt, response) pairs" in caplog.text


def test_bad_pools_fail_before_any_scoring(tmp_path):
    with pytest.raises(ValueError, match=r"pool: no column\(s\) 'response'; columns: \['prompt', 'text'\]"):
        score_pool(pd.DataFrame({"prompt": ["a"], "text": ["b"]}), ["test-chars"], tmp_path)
    with pytest.raises(TypeError, match=r"pool: column 'response' must hold strings; rows \[1\] do not"):
        score_pool(pd.DataFrame({"prompt": ["a", "b"], "response": ["x", 3]}), ["test-chars"], tmp_path)
    with pytest.raises(ValueError, match=r"unknown reward\(s\) \['helpfulness'\]"):
        score_pool(make_frame(), ["helpfulness"], tmp_path)
    with pytest.raises(ValueError, match="objectives must be distinct"):
        score_pool(make_frame(), ["brevity", "brevity"], tmp_path)
    assert CountingLength.calls == 0


def test_nan_from_a_reward_names_the_reward_and_rows(tmp_path):
    class Holey(Reward):
        name = "holey"

        def _score(self, prompts, responses):
            return np.array([np.nan if "3" in p else 1.0 for p in prompts])

    register_reward("test-holey", Holey)
    with pytest.raises(ValueError, match=r"reward 'holey' returned NaN or inf for rows \[3\] of 10"):
        score_pool(make_frame(), ["test-holey"], tmp_path, progress=False)
