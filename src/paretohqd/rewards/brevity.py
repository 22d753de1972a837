"""Brevity: a bounded, smooth reward for short responses."""

from __future__ import annotations

import math

import numpy as np

from paretohqd.rewards.base import Reward


class Brevity(Reward):
    """exp(-words / scale) of the response's whitespace-separated word count, in (0, 1]; the prompt is unused.

    One word scores exp(-1/scale) (0.975 at the default scale 40), 40 words 0.37, 120 words 0.05. An empty or
    whitespace-only response scores 0.0, the limit of an endless one: saying nothing is a degenerate answer, and a
    reward that called it "perfectly brief" would pull selection towards empty generations.
    """

    def __init__(self, scale: float = 40.0, *, name: str = "brevity"):
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a positive finite number of words; got {scale!r}")
        self.scale = float(scale)
        self.name = name

    def _score(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        words = np.array([len(response.split()) for response in responses], dtype=np.float64)
        return np.where(words > 0, np.exp(-words / self.scale), 0.0)
