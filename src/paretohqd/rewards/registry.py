"""Reward models by name: the names configs use, resolved to factories; users can register their own."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from functools import partial

from paretohqd.rewards.base import RewardModel
from paretohqd.rewards.brevity import Brevity
from paretohqd.rewards.hf import HF_PRESETS, hf_preset
from paretohqd.rewards.positivity import Positivity
from paretohqd.rewards.relevance import Relevance

RewardFactory = Callable[..., RewardModel]

_FACTORIES: dict[str, RewardFactory] = {
    "relevance": Relevance,
    "brevity": Brevity,
    "positivity": Positivity,
    **{preset: partial(hf_preset, preset) for preset in HF_PRESETS},
}


def reward_names() -> list[str]:
    """Names `load_reward` knows, sorted."""
    return sorted(_FACTORIES)


def reward_factories() -> dict[str, RewardFactory]:
    """A copy of the registry, name -> factory: what another process (a Ray task) registers to know the same
    rewards."""
    return dict(_FACTORIES)


def register_reward(name: str, factory: RewardFactory, *, overwrite: bool = False) -> None:
    """Make `load_reward(name, **options)` call `factory(**options)`, which must return a RewardModel."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"reward name must be a non-empty string; got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory for reward '{name}' must be callable; got {type(factory).__name__}")
    if name in _FACTORIES and not overwrite:
        raise ValueError(f"reward '{name}' is already registered; pass overwrite=True to replace it")
    _FACTORIES[name] = factory


def load_reward(name: str, **options) -> RewardModel:
    """The reward model registered as `name`, built with `options` (e.g. load_reward("brevity", scale=20))."""
    if name not in _FACTORIES:
        close = difflib.get_close_matches(str(name), _FACTORIES, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(f"unknown reward {name!r}{hint}; known rewards: {', '.join(reward_names())}")
    model = _FACTORIES[name](**options)
    if not isinstance(model, RewardModel):
        raise TypeError(
            f"the factory of reward '{name}' returned a {type(model).__name__}, not a reward model "
            "(an object with `name` and `score(prompts, responses)`)"
        )
    return model
