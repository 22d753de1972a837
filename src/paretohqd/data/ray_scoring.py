"""Scoring a pool with Ray Data: the files `score_pool` writes, scored by a pool of Ray actors.

The driver does what the local path does before and after scoring (clean the samples, key the folder, join the scores
and write pool.parquet and stats.json, with the same functions), so the cache cannot tell which executor scored a
pool. In between, only the texts travel: blocks of `batch_size` samples go to `actors` actors through `map_batches`.

Every actor holds all the objectives' reward models, rather than one actor pool per objective: reward models are
small next to a GPU (the paper's are under 1B parameters each), so one actor per GPU scores every batch under every
objective. That leaves one number to size (the actors: the GPUs to use), keeps cheap offline rewards from holding a
GPU of their own, and ships each batch once instead of from stage to stage. Ray is an optional extra
(`pip install paretohqd[ray]`), imported only here and in `paretohqd.executors`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from paretohqd.checks import check_positive_int
from paretohqd.data.scoring import POOL_FILE, ScoredPool, load_pool, prepare_pool, score_batch, write_pool

# The column that carries each sample's pool row through Ray Data, which may return batches out of order.
ROW = "__pool_row__"


def score_pool_ray(
    frame: pd.DataFrame,
    objectives: Sequence[str],
    out_dir: str | os.PathLike,
    *,
    reward_options: Mapping[str, Mapping] | None = None,
    actors: int | None = None,
    batch_size: int = 512,
    address: str | None = None,
) -> ScoredPool:
    """Score N samples like `score_pool` (same arguments, same files, same cache), with Ray Data.

    actors: Ray actors that score, each with one GPU when the cluster has GPUs, else one CPU (None: one per GPU of
    the cluster, or one per CPU where it has none). batch_size: samples per call of an actor. address: the Ray
    cluster to join unless Ray is initialised already ("auto": the one this machine belongs to; None: a local
    instance). Unlike the local path, an interrupted scoring starts over: Ray restarts a dead actor and retries its
    batch, and a batch whose reward raises stops the scoring.
    """
    import ray.data

    from paretohqd.rewards import reward_factories

    batch_size = check_positive_int(batch_size, "batch_size")
    if actors is not None:
        actors = check_positive_int(actors, "actors")
    frame, objectives, reward_options, folder = prepare_pool(frame, objectives, out_dir, reward_options)
    if (folder / POOL_FILE).is_file():
        return load_pool(folder)
    if not ray.is_initialized():
        ray.init(address=address)
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    texts = pd.DataFrame({ROW: np.arange(len(frame)), "prompt": frame["prompt"], "response": frame["response"]})
    # One block per batch, and a block is a batch (batch_size=None): the actors take blocks in parallel, and the
    # rows of a batch are contiguous, as error messages say.
    blocks = [texts.iloc[start : start + batch_size] for start in range(0, len(texts), batch_size)]
    scored = (
        ray.data.from_pandas(blocks)
        .map_batches(
            RewardActor,
            fn_constructor_kwargs={
                "objectives": objectives,
                "reward_options": reward_options,
                "rewards": reward_factories(),
            },
            compute=ray.data.ActorPoolStrategy(size=actors or gpus or int(resources["CPU"])),
            batch_size=None,
            batch_format="pandas",
            **({"num_gpus": 1} if gpus else {"num_cpus": 1}),
        )
        .to_pandas()
        .sort_values(ROW)
    )
    scores = pd.DataFrame({name: scored[name].to_numpy(np.float64) for name in objectives}, index=frame.index)
    return write_pool(frame, scores, objectives, reward_options, folder)


class RewardActor:
    """A Ray Data actor: builds every objective's reward model once, then scores batches (pandas frames with the
    pool row, prompt and response) under all of them. `rewards` is the driver's reward registry (name -> factory),
    registered here so that rewards registered in the driver score in the actors too (their code must be importable
    there)."""

    def __init__(self, objectives: tuple[str, ...], reward_options: dict, rewards: dict):
        from paretohqd.rewards import load_reward, register_reward

        for name, factory in rewards.items():
            register_reward(name, factory, overwrite=True)
        self.models = {name: load_reward(name, **reward_options.get(name, {})) for name in objectives}

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        rows = batch[ROW].to_numpy()
        scores = score_batch(self.models, batch["prompt"].tolist(), batch["response"].tolist(), int(rows[0]))
        return pd.DataFrame({ROW: rows, **scores})
