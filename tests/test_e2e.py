"""End to end with the real embedded SmolLM2-135M-Instruct and the real offline rewards (slow: about a minute)."""

import json

import pandas as pd
import pytest
import torch

from paretohqd.config import load_config, shipped_configs
from paretohqd.data.embedded import load_chat_pool, write_chat_pool
from paretohqd.train import load_trained
from paretohqd.workflow import run_pipeline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_pool(tmp_path_factory):
    """120 samples of the shipped pool, all four styles."""
    pool = load_chat_pool()
    subset = pool.groupby("style", group_keys=False).apply(lambda g: g.head(30))
    folder = tmp_path_factory.mktemp("pool")
    write_chat_pool(subset.reset_index(drop=True), {"note": "subset of the shipped pool"}, folder)
    return folder


def test_shrunken_chat_offline_run_with_the_real_model_and_rewards(small_pool, tmp_path):
    torch.set_num_threads(2)
    config = load_config(
        shipped_configs()["demo"],
        [
            "name=e2e",
            "preferences=[[1, 0], [0, 1]]",
            "selection.k=8",
            "train.steps=4",
            "train.batch_size=2",
            "stage2.prompts=8",
            "stage2.steps=2",
            "stage2.generation.max_new_tokens=32",
            f"data={{folder: {small_pool}}}",
            "threads=2",
        ],
    )
    run = run_pipeline(config, out=tmp_path)
    select = json.loads((run.root / "units" / "select-1.json").read_text())
    relevance, brevity = zip(*select["mean_rewards"], strict=True)
    # w = (1, 0) is the relevance-first preference, w = (0, 1) the brevity-first one.
    assert relevance[0] > relevance[1] and brevity[1] > brevity[0]
    for label in ("pref-00", "pref-01"):
        assert len(pd.read_json(run.root / "selections" / "stage2" / f"{label}.jsonl", lines=True)) == 4
        model = load_trained(config.model, run.root / "adapters" / "stage2" / label)
        assert model.peft_config["default"].r == 16
