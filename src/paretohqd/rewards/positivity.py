"""Positivity: VADER sentiment of the response."""

from __future__ import annotations

import numpy as np

from paretohqd.rewards.base import Reward, progress_bar


class Positivity(Reward):
    """VADER compound sentiment score of the response, in [-1, 1] (0 for neutral text); the prompt is unused."""

    def __init__(self, *, progress: bool = True, name: str = "positivity"):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()
        self.progress = progress
        self.name = name

    def _score(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        rows = progress_bar(responses, total=len(responses), desc=self.name, enabled=self.progress)
        return np.array([self._analyzer.polarity_scores(response)["compound"] for response in rows])
