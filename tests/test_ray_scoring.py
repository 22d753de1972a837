"""Scoring a pool with Ray Data (`score_pool_ray`, `paretohqd score --executor ray`) on a local Ray instance (2 CPUs)
writes what the local path writes: the same folder, pool.parquet and stats.json, so the cache cannot tell them apart."""

import os
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from paretohqd.cli import main
from paretohqd.data.ray_scoring import score_pool_ray
from paretohqd.data.scoring import score_pool
from paretohqd.rewards import register_reward
from paretohqd.rewards.base import Reward

ray = pytest.importorskip("ray")

torch.set_num_threads(1)

OBJECTIVES = ("brevity", "positivity", "test-chars")
WORDS = ["good", "bad", "happy", "sad", "fine", "the", "cat", "awful", "great", "rain", "love", "tea"]


class CountingChars(Reward):
    """Response length in characters; every call appends 'pid samples' to `log`, a file that the driver and the Ray
    workers share, so a test sees how many samples were scored, and in which processes."""

    name = "test-chars"

    def __init__(self, log: Path):
        self.log = Path(log)

    def _score(self, prompts, responses):
        with self.log.open("a") as out:
            out.write(f"{os.getpid()} {len(responses)}\n")
        return np.array([float(len(r)) for r in responses])


def scoring_calls(log: Path) -> list[tuple[int, int]]:
    """(pid, samples) of every call of the counting reward so far."""
    return [tuple(map(int, line.split())) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray instance for the module; its workers import the counting reward from this folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(Path(__file__).parent), os.getenv("PYTHONPATH")])))
        ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.fixture
def calls_log(own_registry, tmp_path):
    """Registers "test-chars" in the driver (the Ray path hands the registry to its actors); returns its call log."""
    log = tmp_path / "calls.log"
    register_reward("test-chars", partial(CountingChars, log))
    return log


def make_pool(n=300):
    """n samples, of which one has a blank response and one repeats another (both dropped), and an extra column."""
    rng = np.random.default_rng(0)
    responses = [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 12)))) for _ in range(n)]
    frame = pd.DataFrame({"prompt": [f"question {i}?" for i in range(n)], "response": responses, "source": "test"})
    frame.loc[5, "response"] = "   "
    frame.loc[8, ["prompt", "response"]] = frame.loc[7, ["prompt", "response"]].to_numpy()
    return frame


def test_ray_scoring_writes_the_local_files_under_the_same_key(ray_session, calls_log, tmp_path):
    local = score_pool(make_pool(), OBJECTIVES, tmp_path / "local", chunk_size=64, progress=False)
    assert sum(n for _, n in scoring_calls(calls_log)) == 298
    remote = score_pool_ray(make_pool(), OBJECTIVES, tmp_path / "ray", actors=2, batch_size=50)
    assert remote.path.name == local.path.name
    assert sorted(p.name for p in remote.path.iterdir()) == ["pool.parquet", "stats.json"]
    files = {path: pd.read_parquet(path / "pool.parquet") for path in (local.path, remote.path)}
    pd.testing.assert_frame_equal(files[remote.path], files[local.path], check_exact=True)
    assert (remote.path / "stats.json").read_text() == (local.path / "stats.json").read_text()
    pd.testing.assert_frame_equal(remote.frame, local.frame, check_exact=True)
    # The Ray path scored every sample once, in batches of at most 50, in Ray actors (which of the two is up to Ray).
    ray_calls = scoring_calls(calls_log)[5:]
    assert sorted(n for _, n in ray_calls) == [48, 50, 50, 50, 50, 50]
    assert os.getpid() not in {pid for pid, _ in ray_calls}


def test_a_pool_scored_on_ray_is_a_cache_hit_for_either_executor(ray_session, calls_log, tmp_path):
    first = score_pool_ray(make_pool(), OBJECTIVES, tmp_path, actors=2, batch_size=100)
    scored = len(scoring_calls(calls_log))
    again = score_pool_ray(make_pool(), OBJECTIVES, tmp_path, actors=2, batch_size=100)
    local = score_pool(make_pool(), OBJECTIVES, tmp_path, progress=False)
    assert len(scoring_calls(calls_log)) == scored == 3
    assert again.path == local.path == first.path
    pd.testing.assert_frame_equal(again.frame, first.frame)
    pd.testing.assert_frame_equal(local.frame, first.frame)


def test_score_command_with_ray_prints_what_the_local_one_prints(ray_session, calls_log, tmp_path, capsys):
    source = tmp_path / "samples.parquet"
    make_pool().to_parquet(source)
    args = ["score", "--input", str(source), "--objectives", *OBJECTIVES, "--threads", "1"]
    assert main([*args, "--out", str(tmp_path / "local")]) == 0
    local = capsys.readouterr().out
    ray_args = ["--executor", "ray", "--actors", "2", "--batch-size", "64"]
    assert main([*args, "--out", str(tmp_path / "ray"), *ray_args]) == 0
    remote = capsys.readouterr().out
    assert remote.replace(str(tmp_path / "ray"), str(tmp_path / "local")) == local
    assert "Scored pool: 298 samples x 3 objectives" in remote


class HoleyChars(CountingChars):
    """The counting reward, with NaN for the sample whose prompt is 'question 120?'."""

    def _score(self, prompts, responses):
        scores = super()._score(prompts, responses)
        return np.where([p == "question 120?" for p in prompts], np.nan, scores)


def test_a_bad_score_in_an_actor_names_the_reward_and_the_pool_rows(ray_session, calls_log, tmp_path):
    register_reward("test-chars", partial(HoleyChars, calls_log), overwrite=True)
    # Ray raises a RayTaskError that carries the reward's ValueError: row 18 of the batch that starts at row 100.
    message = r"reward 'test-chars' returned NaN or inf for rows \[18\] of 50; .* \(rows counted from pool row 100,"
    with pytest.raises(ray.exceptions.RayTaskError, match=message):
        score_pool_ray(make_pool(), OBJECTIVES, tmp_path, actors=2, batch_size=50)
    assert not any(tmp_path.rglob("pool.parquet"))
