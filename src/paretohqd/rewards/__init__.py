"""Reward models: score (prompt, response) pairs, one float per sample, larger is better.

Every reward model follows the `RewardModel` protocol: a `name` and `score(prompts, responses)` returning an (N,)
float64 array. `load_reward(name)` builds one by name: the offline scorers "relevance", "brevity", "positivity" and
the paper's hub models "harmless", "helpful", "humor", "summary", "faithful" (HF_PRESETS); `register_reward` adds
more. torch and transformers are imported only when a model-backed reward is built.
"""

from paretohqd.rewards.base import Reward, RewardModel, check_scores, check_texts, score_all
from paretohqd.rewards.brevity import Brevity
from paretohqd.rewards.hf import HF_PRESETS, INPUT_FORMATS, HFRewardConfig, HFRewardModel, hf_preset
from paretohqd.rewards.positivity import Positivity
from paretohqd.rewards.registry import load_reward, register_reward, reward_factories, reward_names
from paretohqd.rewards.relevance import Relevance, minilm_path

__all__ = [
    "HF_PRESETS",
    "INPUT_FORMATS",
    "Brevity",
    "HFRewardConfig",
    "HFRewardModel",
    "Positivity",
    "Relevance",
    "Reward",
    "RewardModel",
    "check_scores",
    "check_texts",
    "hf_preset",
    "load_reward",
    "minilm_path",
    "register_reward",
    "reward_factories",
    "reward_names",
    "score_all",
]
