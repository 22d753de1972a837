"""A tiny but complete run set-up shared by pipeline, method and report tests: a random chat Llama, an 80-sample
pool in the shipped format, a fast letter-counting reward and a config that trains both stages in seconds."""

import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from paretohqd.config import load_config
from paretohqd.data.embedded import write_chat_pool
from paretohqd.rewards import register_reward
from paretohqd.rewards.base import Reward
from tiny_models import save_chat_llama

WORDS = ["a cat", "the bread", "my map", "one dog", "rain", "sunny park", "tea", "an apple", "good data", "hello"]


class LetterA(Reward):
    """Share of the letter 'a' among the response's letters; raises once when `fail_on_call` is reached."""

    name = "test-a"
    calls = 0
    fail_on_call = None

    def _score(self, prompts, responses):
        LetterA.calls += 1
        if LetterA.calls == LetterA.fail_on_call:
            raise RuntimeError("scorer crashed once")
        return np.array([r.count("a") / max(1, sum(c.isalpha() for c in r)) for r in responses])


def register_tiny_rewards() -> None:
    """Register the test reward (use inside the `own_registry` fixture, e.g. through `tiny_rewards`)."""
    register_reward("test-a", LetterA)
    LetterA.calls = 0
    LetterA.fail_on_call = None


def tiny_setup(root: Path) -> tuple[Path, Path]:
    """A tiny chat Llama and an 80-sample chat pool under `root`; returns (root, model folder)."""
    model = save_chat_llama(root / "model")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(80):
        words = " ".join(rng.choice(WORDS, size=int(rng.integers(1, 6))))
        rows.append({"prompt": f"Tell me about thing {i % 20}?", "response": f"{words}.", "style": "test"})
    write_chat_pool(pd.DataFrame(rows), {"note": "test pool"}, root / "pool")
    return root, model


def config(setup, *extra):
    """A 3-preference run config on the tiny setup (objectives test-a and brevity); `extra` overrides."""
    root, model = setup
    return load_config(
        None,
        [
            f"model.name_or_path={model}",
            "model.device=cpu",
            "objectives=[test-a, brevity]",
            "preferences=[[1, 0], [0.5, 0.5], [0, 1]]",
            "selection.k=6",
            "train.steps=30",
            "train.batch_size=2",
            "train.lr=0.01",
            "train.warmup_steps=0",
            "stage2.prompts=16",
            "stage2.steps=2",
            "stage2.generation.max_new_tokens=16",
            f"data={{folder: {root / 'pool'}}}",
            "eval.prompts=4",
            "eval.max_new_tokens=8",
            "threads=1",
            *extra,
        ],
    )


@contextmanager
def tiny_registry(reward=None):
    """The test reward registered (`reward`: another factory to register as "test-a") for the block only, with
    transformers' rename warnings silenced: for module-scoped fixtures, which cannot use `tiny_rewards`."""
    import pytest

    from paretohqd.rewards import registry

    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        patch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
        register_tiny_rewards()
        if reward is not None:
            registry.register_reward("test-a", reward, overwrite=True)
        yield


def run_tiny(setup, *extra, out: Path, reward=None):
    """Run (train and evaluate) a tiny config outside any test, e.g. in a module-scoped fixture (see
    `tiny_registry`)."""
    from paretohqd.workflow import run_pipeline

    with tiny_registry(reward):
        return run_pipeline(config(setup, *extra), out=out)
