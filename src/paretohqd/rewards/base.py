"""The reward-model protocol, the base class of the built-in rewards, and input/output validation.

A reward model maps N (prompt, response) pairs to N float64 scores, larger is better. Scores are deterministic: the
same inputs give the same array, whatever the batch size (up to float rounding in batched matrix products).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from tqdm.auto import tqdm

from paretohqd.checks import describe_rows


@runtime_checkable
class RewardModel(Protocol):
    """Anything with a `name` and a batched `score(prompts, responses) -> (N,) float64 array` is a reward model."""

    name: str

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray: ...


def check_strings(texts, name: str) -> list[str]:
    """Return `texts` as a list of str; a lone string or non-string items are a TypeError naming `name`."""
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Iterable):
        raise TypeError(f"{name} must be a sequence of strings (one per sample); got {type(texts).__name__}")
    items = list(texts)
    bad = [i for i, text in enumerate(items) if not isinstance(text, str)]
    if bad:
        example = f"{name}[{bad[0]}] is {type(items[bad[0]]).__name__}"
        raise TypeError(f"{name} must contain only strings; {describe_rows(bad)} are not (e.g. {example})")
    return items


def check_texts(prompts, responses) -> tuple[list[str], list[str]]:
    """Validate one batch of samples: two sequences of strings of the same length N."""
    prompts = check_strings(prompts, "prompts")
    responses = check_strings(responses, "responses")
    if len(prompts) != len(responses):
        raise ValueError(
            f"prompts and responses must have the same length (one prompt per response); "
            f"got {len(prompts)} prompts and {len(responses)} responses"
        )
    return prompts, responses


def check_scores(scores, n: int, name: str) -> np.ndarray:
    """Return the scores of reward `name` as a float64 array of shape (n,), all finite."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.shape != (n,):
        raise ValueError(f"reward '{name}' returned scores of shape {arr.shape}; expected ({n},), one per sample")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(
            f"reward '{name}' returned NaN or inf for {describe_rows(bad.tolist())} of {n}; "
            "check those samples and the model (e.g. its dtype: float16 overflows)"
        )
    return arr


def progress_bar(iterable: Iterable, *, total: int, desc: str, enabled: bool) -> Iterable:
    """`iterable` with a progress bar when enabled and writing to a terminal, shown only once a second has passed."""
    return tqdm(iterable, total=total, desc=desc, leave=False, delay=1.0, disable=None if enabled else True)


class Reward(ABC):
    """Base class of the built-in rewards: validates inputs and outputs around `_score`."""

    name: str

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        """Scores of N samples, shape (N,), float64; larger is better."""
        prompts, responses = check_texts(prompts, responses)
        if not prompts:
            return np.empty(0)
        return check_scores(self._score(prompts, responses), len(prompts), self.name)

    @abstractmethod
    def _score(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        """Scores of N >= 1 validated samples, shape (N,)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def score_all(models: Sequence[RewardModel], prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
    """Reward points of N samples under M reward models, shape (N, M), float64, columns in the order of `models`.

    Any object following the `RewardModel` protocol works; its output is checked like the built-ins' are.
    """
    if not models:
        raise ValueError("models is empty: give at least one reward model")
    prompts, responses = check_texts(prompts, responses)
    columns = [check_scores(model.score(prompts, responses), len(prompts), model.name) for model in models]
    return np.stack(columns, axis=1)
