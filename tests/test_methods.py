"""The baselines and ablations on the tiny set-up: every method trains, hands evaluation one policy per preference,
and goes through the same evaluation; plus the pieces each method adds (scalarised selection, stage-1-only units,
one full-pool adapter, Rewarded Soups' interpolation)."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from paretohqd.data.scoring import load_pool
from paretohqd.generate import GenerationConfig, format_prompts, generate
from paretohqd.methods import METHODS, soups
from paretohqd.models import load_tokenizer
from paretohqd.pareto import select_scalarized
from paretohqd.runs import Run
from paretohqd.train import load_trained
from paretohqd.workflow import run_pipeline
from tiny_runs import config, tiny_setup

torch.set_num_threads(1)

LABELS = ["pref-00", "pref-01", "pref-02"]


@pytest.fixture(autouse=True)
def rewards(tiny_rewards):
    pass


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return tiny_setup(tmp_path_factory.mktemp("methods"))


def units(run) -> set[str]:
    root = run.root / "units"
    return {p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.json")}


def test_config_and_registry_know_the_same_methods():
    from paretohqd.config import METHODS as NAMES

    assert set(NAMES) == set(METHODS)
    for module in METHODS.values():
        assert callable(module.fit) and callable(module.policies)


@pytest.mark.parametrize("method", ["scalarized", "stage1_only", "full_sft", "soups"])
def test_every_method_goes_through_the_common_evaluation(setup, tmp_path, method):
    run = run_pipeline(config(setup, f"method={method}", f"name={method}", "full_sft.steps=4"), out=tmp_path)
    points = json.loads((run.root / "eval" / "points.json").read_text())
    assert [p["label"] for p in points] == ["base", *LABELS]
    assert [p["preference"] for p in points[1:]] == [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    for label in ["base", *LABELS]:
        frame = pd.read_parquet(run.root / "eval" / f"{label}.parquet")
        assert len(frame) == 4 and {"test-a", "brevity", "collapsed"} <= set(frame.columns)
    compute = run.compute()
    assert compute["stages"]["eval"]["units"] == 4
    assert compute["stages"]["eval"]["generations"] == 16
    assert compute["training"]["steps"] > 0 and compute["training"]["wall_seconds"] > 0
    assert compute["total"]["wall_seconds"] >= compute["training"]["wall_seconds"]


def test_scalarized_selects_top_k_by_weighted_normalised_rewards_in_both_stages(setup, tmp_path):
    run = run_pipeline(config(setup, "method=scalarized", "eval.enabled=false"), out=tmp_path)
    pool = load_pool(run.root / run.result("pool")["path"])
    expected = select_scalarized(pool.rewards, [[1, 0], [0.5, 0.5], [0, 1]], 6)
    for index, label in enumerate(LABELS):
        chosen = pd.read_json(run.root / "selections" / "stage1" / f"{label}.jsonl", lines=True)
        assert chosen["pool_row"].tolist() == expected.indices[index].tolist()
    assert {"select-2", "train-2/pref-00"} <= units(run)
    hqd = run_pipeline(config(setup, "name=hqd", "eval.enabled=false", "stage2.enabled=false"), out=tmp_path)
    rows = [
        pd.read_json(r.root / "selections" / "stage1" / "pref-01.jsonl", lines=True)["pool_row"].tolist()
        for r in (run, hqd)
    ]
    assert rows[0] != rows[1]  # the ray and the weighted sum pick differently for the balanced preference


def test_stage1_only_trains_stage_1_and_serves_its_adapters(setup, tmp_path):
    run = run_pipeline(config(setup, "method=stage1_only", "eval.enabled=false"), out=tmp_path)
    assert units(run) == {"pool", "select-1", *(f"train-1/{label}" for label in LABELS)}
    policies = METHODS["stage1_only"].policies(run, _context(run))
    assert [p.adapter for p in policies.values()] == [str(run.root / "adapters" / "stage1" / x) for x in LABELS]
    assert not (run.root / "adapters" / "stage2").exists()


def test_full_sft_trains_one_adapter_on_the_whole_pool_for_an_epoch(setup, tmp_path):
    run = run_pipeline(config(setup, "method=full_sft", "eval.enabled=false"), out=tmp_path)
    record = run.result("train-full")
    pool_size = run.result("pool")["samples"]
    assert record["steps"] == pool_size // 2  # one epoch at batch size 2
    assert record["samples_seen"] == pool_size
    log = json.loads((run.root / "adapters" / "full_sft" / "train_log.json").read_text())
    assert log["samples"] == pool_size
    assert {p.adapter for p in METHODS["full_sft"].policies(run, _context(run)).values()} == {
        str(run.root / "adapters" / "full_sft")
    }


def test_top_k_per_objective_matches_sorting_each_column():
    rewards = np.array([[0.1, 5.0], [0.9, 1.0], [0.5, 5.0], [0.9, 0.0]])
    assert soups.top_k_per_objective(rewards, 2).tolist() == [[1, 3], [0, 2]]
    with pytest.raises(ValueError, match="k=5 must be in"):
        soups.top_k_per_objective(rewards, 5)


def test_interpolation_is_the_weighted_sum_of_each_tensor():
    a = {"x": torch.tensor([1.0, 2.0]), "y": torch.tensor([[4.0]])}
    b = {"x": torch.tensor([3.0, 6.0]), "y": torch.tensor([[0.0]])}
    mixed = soups.interpolate([a, b], [0.25, 0.75])
    assert torch.equal(mixed["x"], torch.tensor([2.5, 5.0])) and torch.equal(mixed["y"], torch.tensor([[1.0]]))
    assert torch.equal(soups.interpolate([a, b], [1.0, 0.0])["x"], a["x"])
    with pytest.raises(ValueError, match="other tensors"):
        soups.interpolate([a, {"x": b["x"]}], [0.5, 0.5])
    with pytest.raises(ValueError, match="different shapes"):
        soups.interpolate([a, {**b, "y": torch.zeros(2, 2)}], [0.5, 0.5])
    with pytest.raises(ValueError, match="one weight per state dict"):
        soups.interpolate([a, b], [1.0])


def test_soups_mix_per_preference_adapters_that_differ_in_weights_and_generations(setup, tmp_path):
    from safetensors.torch import load_file

    run = run_pipeline(config(setup, "method=soups", "eval.enabled=false"), out=tmp_path)
    assert run.result("train-soups/test-a")["steps"] == 30 + 2  # a ParetoHqD model's stage 1 + stage 2 steps
    top_a = pd.read_json(run.root / "selections" / "soups" / "test-a.jsonl", lines=True)
    top_b = pd.read_json(run.root / "selections" / "soups" / "brevity.jsonl", lines=True)
    assert top_a["test-a"].min() >= top_b["test-a"].mean() and top_b["brevity"].min() >= top_a["brevity"].mean()
    folder = run.root / "adapters" / "soups"
    ingredients = [load_file(str(folder / name / soups.ADAPTER_WEIGHTS)) for name in ("test-a", "brevity")]
    mixes = {label: load_file(str(folder / "mix" / label / soups.ADAPTER_WEIGHTS)) for label in LABELS}
    for name, tensor in mixes["pref-01"].items():
        torch.testing.assert_close(tensor, 0.5 * ingredients[0][name] + 0.5 * ingredients[1][name])
    for name in ingredients[0]:
        torch.testing.assert_close(mixes["pref-00"][name], ingredients[0][name])
    assert any(not torch.equal(mixes["pref-00"][n], mixes["pref-02"][n]) for n in mixes["pref-00"])
    texts = []
    tokenizer = load_tokenizer(run.config.model)
    inputs = format_prompts(tokenizer, [f"Tell me about thing {i}?" for i in range(6)], chat=True)
    for label in ("pref-00", "pref-02"):
        model = load_trained(run.config.model, folder / "mix" / label, merge=True)
        texts.append(generate(model, tokenizer, inputs, GenerationConfig(12, temperature=0.0), progress=False).texts)
    assert texts[0] != texts[1]


def test_adapters_trained_with_one_seed_start_from_the_same_init(setup, tmp_path):
    from paretohqd.train import LoraSettings, TrainSettings, build_trainer

    _, model_dir = setup
    cfg = config(setup)
    first = {"prompt": ["a?", "b?"], "response": ["aaaa.", "bbbb."]}
    second = {"prompt": ["c?", "d?"], "response": ["cc.", "dd dd."]}
    inits = []
    for i, samples in enumerate((first, second)):
        torch.manual_seed(1000 + i)  # whatever ran before must not matter
        trainer = build_trainer(
            cfg.model,
            pd.DataFrame(samples),
            tmp_path / str(i),
            lora=LoraSettings(r=4, alpha=8),
            train=TrainSettings(steps=1, batch_size=2, warmup_steps=0),
            chat=True,
            progress=False,
        )
        inits.append({n: p.detach().clone() for n, p in trainer.model.named_parameters() if "lora_A" in n})
    assert inits[0].keys() == inits[1].keys() and inits[0]
    assert all(torch.equal(inits[0][n], inits[1][n]) for n in inits[0])


def test_eval_command_evaluates_a_trained_run_and_refuses_an_untrained_one(setup, tmp_path, capsys):
    from paretohqd.cli import main

    run = run_pipeline(config(setup, "method=stage1_only", "eval.enabled=false"), out=tmp_path)
    assert not (run.root / "eval").exists()
    assert main(["eval", str(run.root)]) == 0
    out = capsys.readouterr().out
    assert "Hypervolume" in out and "pref-02" in out
    points = json.loads((run.root / "eval" / "points.json").read_text())
    assert len(points) == 4
    untrained = run_pipeline(config(setup, "name=untrained"), out=tmp_path, stop_after="select-1")
    assert main(["eval", str(untrained.root)]) == 2
    assert "paretohqd eval: error:" in (err := capsys.readouterr().err) and "has not finished training" in err
    assert main(["eval", str(tmp_path / "nowhere")]) == 2
    assert "is not a run folder" in capsys.readouterr().err


def _context(run: Run):
    from paretohqd.pipeline import prepare

    return prepare(run.config)
