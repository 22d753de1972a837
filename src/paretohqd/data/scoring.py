"""Scored pools: every (prompt, response) sample's raw reward under each objective, as parquet plus stats.

A pool is scored in chunks; each finished chunk is written atomically, so an interrupted scoring resumes where it
stopped. The output folder is keyed by a hash of the samples and the reward specs, so scoring the same pool with
the same rewards again is a cache hit that loads no model. Raw scores are kept: normalisation belongs to consumers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from paretohqd.checks import check_positive_int
from paretohqd.data.generic import clean_samples
from paretohqd.files import write_parquet_atomic, write_text_atomic

if TYPE_CHECKING:
    from paretohqd.rewards import RewardModel

log = logging.getLogger(__name__)

POOL_FILE = "pool.parquet"
STATS_FILE = "stats.json"
CHUNKS_DIR = "chunks"


@dataclass(frozen=True)
class ScoredPool:
    """frame: N rows with `prompt`, `response` and one float column per objective; path: the folder it lives in."""

    frame: pd.DataFrame
    objectives: tuple[str, ...]
    path: Path | None = None

    @property
    def rewards(self) -> np.ndarray:
        """(N, M) raw rewards, columns in the order of `objectives`."""
        return self.frame[list(self.objectives)].to_numpy(dtype=np.float64)

    def stats(self) -> dict[str, dict[str, float]]:
        """Per objective: mean, std, min, max and count of the raw rewards."""
        return reward_stats(self.frame, self.objectives)


def reward_stats(frame: pd.DataFrame, objectives: Sequence[str]) -> dict[str, dict[str, float]]:
    out = {}
    for name in objectives:
        values = frame[name].to_numpy(dtype=np.float64)
        out[name] = {
            "mean": float(values.mean()),
            "std": float(values.std()),
            "min": float(values.min()),
            "max": float(values.max()),
            "count": int(values.size),
        }
    return out


def pool_key(frame: pd.DataFrame, objectives: Sequence[str], reward_options: Mapping[str, Mapping]) -> str:
    """16 hex digits identifying the samples (in order) and the reward specs."""
    digest = hashlib.sha256()
    spec = {name: dict(reward_options.get(name, {})) for name in objectives}
    digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
    for prompt, response in zip(frame["prompt"], frame["response"], strict=True):
        digest.update(prompt.encode())
        digest.update(b"\x00")
        digest.update(response.encode())
        digest.update(b"\x01")
    return digest.hexdigest()[:16]


def score_pool(
    frame: pd.DataFrame,
    objectives: Sequence[str],
    out_dir: str | os.PathLike,
    *,
    reward_options: Mapping[str, Mapping] | None = None,
    chunk_size: int = 512,
    progress: bool = True,
) -> ScoredPool:
    """Score N samples with the rewards named in `objectives` (see `paretohqd.rewards.load_reward`).

    frame: `prompt` and `response` columns (other columns are kept). Writes `out_dir/<key>/pool.parquet` and
    `stats.json` and returns the pool; reuses them when present, and resumes from finished chunks otherwise.
    reward_options: per reward name, keyword options for its factory (part of the cache key).
    `paretohqd.data.ray_scoring.score_pool_ray` writes the same files with Ray Data.
    """
    from paretohqd.rewards import load_reward

    chunk_size = check_positive_int(chunk_size, "chunk_size")
    frame, objectives, reward_options, folder = prepare_pool(frame, objectives, out_dir, reward_options)
    if (folder / POOL_FILE).is_file():
        return load_pool(folder)
    chunks = folder / CHUNKS_DIR
    chunks.mkdir(parents=True, exist_ok=True)
    starts = range(0, len(frame), chunk_size)
    todo = [s for s in starts if not (chunks / f"{s:09d}.parquet").is_file()]
    if len(todo) < len(starts):
        log.info("resuming: %d of %d chunks already scored", len(starts) - len(todo), len(starts))
    models = {name: load_reward(name, **reward_options.get(name, {})) for name in objectives} if todo else {}
    for start in tqdm(todo, desc="score", unit="chunk", disable=None if progress else True):
        part = frame.iloc[start : start + chunk_size]
        scores = score_batch(models, part["prompt"].tolist(), part["response"].tolist(), start)
        write_parquet_atomic(pd.DataFrame(scores, index=part.index), chunks / f"{start:09d}.parquet")
    scores = pd.concat([pd.read_parquet(chunks / f"{s:09d}.parquet") for s in starts]).sort_index()
    return write_pool(frame, scores, objectives, reward_options, folder)


def prepare_pool(
    frame: pd.DataFrame,
    objectives: Sequence[str],
    out_dir: str | os.PathLike,
    reward_options: Mapping[str, Mapping] | None,
) -> tuple[pd.DataFrame, tuple[str, ...], dict, Path]:
    """Check the objectives, clean the samples (`clean_samples`) and name the pool's folder, `out_dir/<pool_key>`.

    Returns (the cleaned samples, the objectives as a tuple, the reward options as a dict, the folder).
    """
    from paretohqd.rewards import reward_names

    objectives = tuple(objectives)
    if not objectives:
        raise ValueError("objectives is empty: name at least one reward")
    unknown = [name for name in objectives if name not in reward_names()]
    if unknown:
        raise ValueError(f"unknown reward(s) {unknown}; known rewards: {', '.join(reward_names())}")
    if len(set(objectives)) != len(objectives):
        raise ValueError(f"objectives must be distinct; got {list(objectives)}")
    reward_options = dict(reward_options or {})
    frame = clean_samples(frame, "pool")
    if frame.empty:
        raise ValueError("the pool has no samples left to score")
    return frame, objectives, reward_options, Path(out_dir) / pool_key(frame, objectives, reward_options)


def score_batch(
    models: Mapping[str, RewardModel], prompts: list[str], responses: list[str], first_row: int
) -> dict[str, np.ndarray]:
    """Objective name -> (n,) float64 scores of n samples, the first of which is row `first_row` of the pool."""
    from paretohqd.rewards import check_scores

    try:
        return {
            name: check_scores(model.score(prompts, responses), len(prompts), name) for name, model in models.items()
        }
    except ValueError as exc:
        raise ValueError(f"{exc} (rows counted from pool row {first_row}, the first of this batch)") from exc


def write_pool(
    frame: pd.DataFrame, scores: pd.DataFrame, objectives: tuple[str, ...], reward_options: dict, folder: Path
) -> ScoredPool:
    """Join the scores (one float64 column per objective, indexed like `frame`) to the samples; write stats.json and
    pool.parquet in `folder`, and drop the chunks of an interrupted scoring."""
    scored = pd.concat([frame.drop(columns=[c for c in objectives if c in frame.columns]), scores], axis=1)
    pool = ScoredPool(scored, objectives, folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"objectives": list(objectives), "reward_options": reward_options, "stats": pool.stats()}
    write_text_atomic(folder / STATS_FILE, json.dumps(meta, indent=1, default=str))
    write_parquet_atomic(scored, folder / POOL_FILE)
    shutil.rmtree(folder / CHUNKS_DIR, ignore_errors=True)
    return pool


def load_pool(folder: str | os.PathLike) -> ScoredPool:
    """A scored pool written by `score_pool` (the folder holding pool.parquet and stats.json)."""
    folder = Path(folder)
    if not (folder / POOL_FILE).is_file():
        raise FileNotFoundError(f"no scored pool in {folder} (expected {POOL_FILE})")
    meta = json.loads((folder / STATS_FILE).read_text())
    return ScoredPool(pd.read_parquet(folder / POOL_FILE), tuple(meta["objectives"]), folder)
