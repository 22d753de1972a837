"""The ParetoHqD pipeline end to end on a tiny random model, a small shipped-format pool and fast rewards."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from paretohqd.runs import ConfigMismatch
from paretohqd.train import load_trained
from paretohqd.workflow import run_pipeline
from tiny_runs import LetterA, config, tiny_setup

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def rewards(tiny_rewards):
    pass


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return tiny_setup(tmp_path_factory.mktemp("pipeline"))


def test_both_stages_run_and_every_preference_gets_its_own_data_and_adapter(setup, tmp_path):
    run = run_pipeline(config(setup), out=tmp_path)
    root = run.root
    selections = {
        label: pd.read_json(root / "selections" / "stage1" / f"{label}.jsonl", lines=True)
        for label in ("pref-00", "pref-01", "pref-02")
    }
    assert all(len(frame) == 6 for frame in selections.values())
    # w = (1, 0) favours the letter-a objective, w = (0, 1) brevity: their selections differ in the right direction.
    assert selections["pref-00"]["test-a"].mean() > selections["pref-02"]["test-a"].mean()
    assert selections["pref-02"]["brevity"].mean() > selections["pref-00"]["brevity"].mean()
    for label in selections:
        assert len(pd.read_json(root / "selections" / "stage2" / f"{label}.jsonl", lines=True)) == 3
    weights = []
    for label in selections:
        model = load_trained(run.config.model, root / "adapters" / "stage2" / label)
        weights.append(torch.cat([p.flatten() for n, p in model.named_parameters() if "lora_B" in n]))
    assert not torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])
    record = json.loads((root / "units" / "select-1.json").read_text())
    assert record["k"] == 6 and len(record["mean_rewards"]) == 3
    units = {p.relative_to(root / "units").with_suffix("").as_posix() for p in (root / "units").rglob("*.json")}
    expected = {"pool", "select-1", "pool-2", "select-2"} | {f"train-{s}/pref-0{i}" for s in (1, 2) for i in range(3)}
    assert expected | {"eval/base", "eval/pref-00"} <= units
    points = json.loads((root / "eval" / "points.json").read_text())
    assert [p["label"] for p in points] == ["base", "pref-00", "pref-01", "pref-02"]
    assert points[0]["preference"] is None and points[1]["preference"] == [1.0, 0.0]
    assert all(p["n"] == 4 and len(p["mean"]) == 2 and 0 <= p["collapse_rate"] <= 1 for p in points)
    generations = pd.read_parquet(root / "eval" / "pref-00.parquet")
    assert list(generations.columns[:4]) == ["prompt", "response", "test-a", "brevity"]
    assert np.allclose(generations[["test-a", "brevity"]].mean().to_numpy(), points[1]["mean"], atol=1e-6)


def test_a_run_interrupted_in_stage_2_resumes_without_redoing_stage_1(setup, tmp_path):
    LetterA.fail_on_call = 2  # call 1 scores the stage-1 pool, call 2 the stage-2 pool
    with pytest.raises(RuntimeError, match="scorer crashed once"):
        run_pipeline(config(setup, "name=resumed"), out=tmp_path)
    stage1 = {p: p.stat().st_mtime_ns for p in (tmp_path / "resumed" / "adapters" / "stage1").rglob("*") if p.is_file()}
    marker = (tmp_path / "resumed" / "units" / "train-1" / "pref-00.json").read_text()
    assert stage1 and not (tmp_path / "resumed" / "units" / "pool-2.json").exists()
    resumed = run_pipeline(config(setup, "name=resumed"), out=tmp_path)
    assert {p: p.stat().st_mtime_ns for p in stage1} == stage1
    assert (resumed.root / "units" / "train-1" / "pref-00.json").read_text() == marker
    straight = run_pipeline(config(setup, "name=straight"), out=tmp_path)
    for label in ("pref-00", "pref-01", "pref-02"):
        a = pd.read_json(resumed.root / "selections" / "stage2" / f"{label}.jsonl", lines=True)
        b = pd.read_json(straight.root / "selections" / "stage2" / f"{label}.jsonl", lines=True)
        pd.testing.assert_frame_equal(a, b)


def test_selection_only_writes_per_preference_datasets(setup, tmp_path):
    run = run_pipeline(config(setup), out=tmp_path, stop_after="select-1")
    assert sorted(p.name for p in (run.root / "selections" / "stage1").iterdir()) == [
        "pref-00.jsonl",
        "pref-01.jsonl",
        "pref-02.jsonl",
    ]
    assert not (run.root / "adapters").exists()


@pytest.mark.parametrize(
    ("extra", "error", "message"),
    [
        (["task=chat-online"], ValueError, "unknown task 'chat-online'"),
        (["preferences=[[1, 0, 0]]"], ValueError, r"config.preferences: each preference needs 2 weights"),
        (["model.name_or_path=./no/such/model"], FileNotFoundError, "no model folder ./no/such/model"),
        (["objectives=[test-a, helpfulness]"], ValueError, "unknown reward 'helpfulness'"),
        (["selection.k=500"], ValueError, r"k=500 is larger than the pool"),
    ],
)
def test_bad_configs_fail_before_any_training(setup, tmp_path, extra, error, message):
    with pytest.raises(error, match=message):
        run_pipeline(config(setup, *extra), out=tmp_path)
    assert not list(tmp_path.rglob("adapters"))


def test_a_changed_config_needs_force(setup, tmp_path):
    run_pipeline(config(setup), out=tmp_path, stop_after="select-1")
    with pytest.raises(ConfigMismatch):
        run_pipeline(config(setup, "selection.k=5"), out=tmp_path, stop_after="select-1")
    run_pipeline(config(setup, "selection.k=5"), out=tmp_path, stop_after="select-1", force=True)


def test_cli_select_reads_a_config_file_with_overrides(setup, tmp_path, capsys):
    from paretohqd.cli import main
    from paretohqd.config import dump_config

    path = tmp_path / "c.yaml"
    path.write_text(dump_config(config(setup)))
    assert main(["select", str(path), "--set", "selection.k=4", "--out", str(tmp_path / "runs")]) == 0
    assert "Selections:" in capsys.readouterr().out
    first = pd.read_json(tmp_path / "runs" / "run" / "selections" / "stage1" / "pref-00.jsonl", lines=True)
    assert len(first) == 4
