"""The sentiment probe of finished runs (benchmarks/sentiment_probe.py) on a hand-made run folder."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paretohqd.config import load_config
from paretohqd.runs import Run

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "sentiment_probe.py"
spec = importlib.util.spec_from_file_location("sentiment_probe", SCRIPT)
probe_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe_module)

PROMPTS = ["I love this wonderful day", "It is a table", "What is a computer", "This is terrible and sad"]


def made_run(root: Path, positivity) -> Path:
    overrides = ["name=p", "task=chat-offline", "objectives=[relevance, brevity, positivity]"]
    run = Run(root / "p", load_config(None, overrides))
    frame = pd.DataFrame({"prompt": PROMPTS, "response": ["a"] * 4, "relevance": 0.5, "brevity": 0.5})
    frame["positivity"], frame["collapsed"], frame["new_tokens"], frame["capped"] = positivity, False, 3, False
    frame.to_parquet(run.path("eval", "pref-00.parquet"))
    point = dict(label="pref-00", preference=[0.5, 0.25, 0.25], mean=[0.5, 0.5, float(np.mean(positivity))])
    point.update(stderr=[0.0] * 3, collapse_rate=0.0, n=len(PROMPTS))
    run.path("eval", "points.json").write_text(json.dumps([point]))
    chosen = pd.DataFrame({"prompt": PROMPTS[:2], "response": ["b", "c"], "positivity": [0.8, 0.4]})
    run.path("selections", "stage1").mkdir(parents=True, exist_ok=True)
    chosen.to_json(run.path("selections", "stage1", "pref-00.jsonl"), orient="records", lines=True)
    return run.root


def test_the_probe_relates_answer_and_prompt_positivity(tmp_path, capsys):
    positivity = [0.9, 0.0, 0.0, -0.5]
    root = made_run(tmp_path, positivity)
    assert probe_module.main([str(root)]) == 0
    out = capsys.readouterr().out
    assert "25% of 4 eval prompts positive, 50% neutral" in out
    scorer = probe_module.load_reward("positivity", progress=False)
    expected = np.corrcoef(scorer.score(PROMPTS, PROMPTS), positivity)[0, 1]
    row = next(line for line in out.splitlines() if line.startswith("| pref-00"))
    assert row == f"| pref-00 | (0.5, 0.25, 0.25) | 0.10 | {expected:.2f} | 50% | stage1 50%, 0.60 |"


def test_a_run_without_evaluation_is_an_error(tmp_path):
    run = Run(tmp_path / "e", load_config(None, ["name=e"]))
    with pytest.raises(FileNotFoundError, match="has not been evaluated"):
        probe_module.main([str(run.root)])
