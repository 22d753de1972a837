"""MODPO: the loss against hand-computed values and its margin's direction, preference pairs and margins on hand-made
pools, tokenization as generation feeds the model, the trainer's loss against the loss of the model's own
log-probabilities; then a tiny run end to end (pairs, one adapter per preference, evaluation), its resume, and the
configuration's checks."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from paretohqd.config import ModpoConfig, RunConfig, load_config
from paretohqd.data.scoring import load_pool
from paretohqd.methods import modpo
from paretohqd.models import ModelConfig, load_tokenizer
from paretohqd.pipeline import prepare
from paretohqd.rewards import registry
from paretohqd.runs import Run
from paretohqd.train import LoraSettings, TrainSettings
from paretohqd.workflow import run_pipeline
from tiny_models import save_bos_llama
from tiny_runs import config, register_tiny_rewards, tiny_setup

torch.set_num_threads(1)

OBJECTIVES = ["test-a", "brevity"]
LABELS = ["pref-00", "pref-01", "pref-02"]
MODPO = ["method=modpo", "name=modpo", "modpo.steps=3"]


# --- the loss -------------------------------------------------------------------------------------------------------


def test_loss_matches_hand_computed_values():
    # delta = (-5 - -6) - (-7 - -6) = 2, then 0; argument (beta * delta - margin) / w_k = (0.2 - 0.5) / 0.5 = -0.6
    losses = modpo.modpo_loss(
        torch.tensor([-5.0, -3.0]),
        torch.tensor([-7.0, -4.0]),
        torch.tensor([-6.0, -3.0]),
        torch.tensor([-6.0, -4.0]),
        torch.tensor([0.5, 0.0]),
        beta=0.1,
        w_k=0.5,
    )
    torch.testing.assert_close(losses, torch.tensor([math.log(1 + math.exp(0.6)), math.log(2.0)]))


def test_without_margin_and_with_full_weight_it_is_dpos_sigmoid_loss():
    chosen, rejected = torch.tensor([-5.0, -2.0, -9.0]), torch.tensor([-7.0, -2.5, -1.0])
    ref_chosen, ref_rejected = torch.tensor([-6.0, -2.0, -8.0]), torch.tensor([-6.0, -3.0, -2.0])
    losses = modpo.modpo_loss(chosen, rejected, ref_chosen, ref_rejected, torch.zeros(3), beta=0.1, w_k=1.0)
    delta = torch.tensor([2.0, -0.5, -2.0])  # by hand: (chosen - ref_chosen) - (rejected - ref_rejected)
    torch.testing.assert_close(losses, torch.log1p(torch.exp(-0.1 * delta)))


def test_a_chosen_response_better_on_the_other_objectives_asks_a_wider_log_ratio_gap():
    # The margin is subtracted (the paper's Eq. 7): at equal log-probabilities a positive margin raises the loss and
    # pushes the chosen response up harder, since the weighted sum of the rewards prefers it even more.
    def loss_and_push(margin):
        chosen = torch.tensor([-4.0], requires_grad=True)
        loss = modpo.modpo_loss(
            chosen,
            torch.tensor([-4.0]),
            torch.tensor([-4.0]),
            torch.tensor([-4.0]),
            torch.tensor([margin]),
            beta=0.1,
            w_k=0.5,
        ).sum()
        loss.backward()
        return loss.item(), -chosen.grad.item()

    (low, push_low), (none, push_none), (high, push_high) = map(loss_and_push, (-1.0, 0.0, 1.0))
    assert low < none < high and 0 < push_low < push_none < push_high


def test_the_dpo_weight_sharpens_the_loss():
    args = (torch.tensor([-3.0]), torch.tensor([-5.0]), torch.tensor([-4.0]), torch.tensor([-4.0]))
    heavy = modpo.modpo_loss(*args, torch.tensor([0.1]), beta=0.1, w_k=1.0)
    light = modpo.modpo_loss(*args, torch.tensor([0.1]), beta=0.1, w_k=0.1)
    # argument 0.1 at w_k = 1, 1.0 at w_k = 0.1: the same correctly ranked pair is ten times surer
    torch.testing.assert_close(heavy, torch.log1p(torch.exp(torch.tensor([-0.1]))))
    torch.testing.assert_close(light, torch.log1p(torch.exp(torch.tensor([-1.0]))))
    with pytest.raises(ValueError, match="beta and w_k must be positive"):
        modpo.modpo_loss(*args, torch.tensor([0.1]), beta=0.1, w_k=0.0)


# --- pairs and margins ----------------------------------------------------------------------------------------------


POOL = pd.DataFrame(
    {
        "prompt": ["p", "p", "q", "p", "q", "r"],
        "response": ["p1", "p2", "q1", "p3", "q2", "r1"],
        "test-a": [0.5, 0.9, 0.3, 0.5, 0.3, 0.7],
        "brevity": [1.0, 0.2, 0.4, 0.6, 0.8, 0.1],
    }
)


def test_pairs_rank_samples_of_one_prompt_and_skip_ties():
    pairs = modpo.preference_pairs(POOL, OBJECTIVES, 0)
    # p: p2 (0.9) beats p1 and p3 (0.5 each, a tie between them); q: a tie; r: one sample
    assert pairs[["prompt", "chosen", "rejected"]].values.tolist() == [["p", "p2", "p1"], ["p", "p2", "p3"]]
    assert list(pairs.columns) == [
        "prompt",
        "chosen",
        "rejected",
        "chosen_test-a",
        "chosen_brevity",
        "rejected_test-a",
        "rejected_brevity",
    ]
    assert pairs["chosen_test-a"].tolist() == [0.9, 0.9] and pairs["rejected_test-a"].tolist() == [0.5, 0.5]
    assert pairs["chosen_brevity"].tolist() == [0.2, 0.2] and pairs["rejected_brevity"].tolist() == [1.0, 0.6]


def test_pairs_can_be_ranked_by_another_objective():
    pairs = modpo.preference_pairs(POOL, OBJECTIVES, 1)
    assert pairs[["chosen", "rejected"]].values.tolist() == [["p1", "p3"], ["p1", "p2"], ["p3", "p2"], ["q2", "q1"]]
    assert (pairs["chosen_brevity"] > pairs["rejected_brevity"]).all()


def test_a_pool_of_dataset_comparisons_pairs_only_the_halves_of_each_comparison():
    pool = pd.DataFrame(
        {
            "prompt": ["h"] * 4 + ["g"] * 2,
            "response": ["a1", "a2", "b1", "b2", "c1", "c2"],
            "label": ["chosen", "rejected"] * 3,
            "row": [0, 0, 1, 1, 2, 2],
            "test-a": [0.1, 0.4, 0.9, 0.2, 0.5, 0.6],
            "brevity": [0.0] * 6,
        }
    )
    pairs = modpo.preference_pairs(pool, OBJECTIVES, 0)
    # oriented by the DPO objective's reward, not by the dataset's label
    assert pairs[["chosen", "rejected"]].values.tolist() == [["a2", "a1"], ["b1", "b2"], ["c2", "c1"]]


def test_max_pairs_draws_a_seeded_subset_in_order():
    rng = np.random.default_rng(0)
    pool = pd.DataFrame(
        {
            "prompt": [f"p{i % 5}" for i in range(40)],
            "response": [f"r{i}" for i in range(40)],
            "test-a": rng.random(40),
            "brevity": rng.random(40),
        }
    )
    every = modpo.preference_pairs(pool, OBJECTIVES, 0)
    assert len(every) == 5 * 28  # 8 samples per prompt, no ties: 8 * 7 / 2 pairs each
    drawn = modpo.preference_pairs(pool, OBJECTIVES, 0, max_pairs=30, seed=3)
    assert len(drawn) == 30
    rows = [
        every.index[(every["chosen"] == c) & (every["rejected"] == r)][0]
        for c, r in drawn[["chosen", "rejected"]].values
    ]
    assert rows == sorted(rows)
    pd.testing.assert_frame_equal(drawn, modpo.preference_pairs(pool, OBJECTIVES, 0, max_pairs=30, seed=3))
    assert not drawn.equals(modpo.preference_pairs(pool, OBJECTIVES, 0, max_pairs=30, seed=4))


@pytest.mark.parametrize(
    ("pool", "dpo_objective", "message"),
    [
        (POOL[POOL["prompt"] != "p"], 0, "no preference pairs: no prompt has two samples with different 'test-a'"),
        (POOL, 2, r"dpo_objective=2 must index one of the objectives \['test-a', 'brevity'\]"),
        (POOL.drop(columns="brevity"), 0, r"no column\(s\) \['brevity'\]"),
    ],
)
def test_pairs_reject_what_they_cannot_use(pool, dpo_objective, message):
    with pytest.raises(ValueError, match=message):
        modpo.preference_pairs(pool, OBJECTIVES, dpo_objective)


def test_margins_weigh_the_other_objectives_gaps_in_units_of_their_scale():
    pairs = modpo.preference_pairs(POOL, OBJECTIVES, 0)  # brevity gaps: 0.2 - 1.0, 0.2 - 0.6
    margins = modpo.pair_margins(pairs, OBJECTIVES, [0.25, 0.75], 0, [10.0, 2.0])
    np.testing.assert_allclose(margins, [0.75 * -0.8 / 2, 0.75 * -0.4 / 2])
    three = pairs.assign(**{"chosen_x": [1.0, 3.0], "rejected_x": [2.0, 1.0]})
    margins = modpo.pair_margins(three, [*OBJECTIVES, "x"], [0.2, 0.3, 0.5], 0, [1.0, 2.0, 4.0])
    np.testing.assert_allclose(margins, [0.3 * -0.8 / 2 + 0.5 * -1 / 4, 0.3 * -0.4 / 2 + 0.5 * 2 / 4])
    np.testing.assert_array_equal(modpo.pair_margins(pairs, OBJECTIVES, [1.0, 0.0], 0, [1.0, 1.0]), [0.0, 0.0])


def test_margin_scales_are_the_pools_std_and_refuse_a_constant_margin_objective():
    rewards = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 8.0]])
    np.testing.assert_allclose(modpo.margin_scales(rewards, OBJECTIVES, 0), rewards.std(axis=0))
    flat = np.array([[0.0, 1.0], [2.0, 1.0]])
    np.testing.assert_allclose(modpo.margin_scales(flat[:, ::-1], OBJECTIVES, 0), [0.0, 1.0])  # the DPO one may be
    with pytest.raises(ValueError, match=r"objective\(s\) \['brevity'\] are constant over the pool"):
        modpo.margin_scales(flat, OBJECTIVES, 0)


# --- tokenization and the trainer -----------------------------------------------------------------------------------


def test_pairs_are_tokenized_as_generation_feeds_the_model(tmp_path):
    tokenizer = load_tokenizer(ModelConfig(save_bos_llama(tmp_path / "bos")))
    inputs = ["Human: hi Assistant:", "Human: " + "bread " * 200 + "Assistant:"]
    with pytest.warns(UserWarning, match=r"rows \[1\] of the pairs have prompts of max_length=64 tokens or more"):
        data = modpo.tokenize_pairs(tokenizer, inputs, ["Paris.", "No."], ["bread", "Yes."], [0.5, -1.0], 64)
    assert len(data) == 1 and data[0]["margin"] == 0.5
    eos = tokenizer.eos_token_id
    assert data[0]["prompt_ids"] == tokenizer(inputs[0], add_special_tokens=False)["input_ids"]
    assert data[0]["prompt_ids"][0] != tokenizer.bos_token_id  # this tokenizer adds a BOS when asked to
    assert data[0]["chosen_ids"] == tokenizer("Paris.", add_special_tokens=False)["input_ids"] + [eos]
    assert data[0]["rejected_ids"] == tokenizer("bread", add_special_tokens=False)["input_ids"] + [eos]


def _response_logps(model, batch) -> torch.Tensor:
    """(2B,) summed log-probabilities of the completion tokens, from the model's plain logits."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    tokens = batch["input_ids"][:, 1:]
    per_token = torch.log_softmax(logits.float(), dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    return (per_token * batch["completion_mask"][:, 1:]).sum(dim=1)


def test_the_trainers_loss_is_modpo_loss_of_the_policy_and_the_base_models_log_probs(tmp_path):
    from tiny_models import save_chat_llama

    model = ModelConfig(save_chat_llama(tmp_path / "model"), device="cpu")
    pairs = pd.DataFrame(
        {
            "prompt": ["Tell me about bread?", "What is the capital of France?", "Hi?"],
            "chosen": ["Mix flour and water.", "Paris.", "Hello there!"],
            "rejected": ["The dog sleeps.", "I love this.", "Awful."],
            "margin": [0.8, -0.3, 0.0],
        }
    )
    trainer = modpo.build_modpo_trainer(
        model,
        pairs,
        tmp_path / "trainer",
        lora=LoraSettings(r=4, alpha=8),
        train=TrainSettings(steps=1, batch_size=3, warmup_steps=0),
        beta=0.2,
        w_k=0.4,
        chat=True,
        progress=False,
    )
    torch.manual_seed(0)
    with torch.no_grad():  # a trained-looking adapter, so that the policy differs from the reference
        for name, parameter in trainer.model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
    torch.testing.assert_close(batch["margin"], torch.tensor([0.8, -0.3, 0.0]))
    with torch.no_grad():
        loss = trainer.compute_loss(trainer.model, batch)
        policy = _response_logps(trainer.model, batch)
        with trainer.model.disable_adapter():
            reference = _response_logps(trainer.model, batch)
    assert (policy - reference).abs().min() > 1e-3
    expected = modpo.modpo_loss(*policy.chunk(2), *reference.chunk(2), batch["margin"], beta=0.2, w_k=0.4).mean()
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-5)


def test_full_fine_tuning_is_refused(tmp_path):
    pairs = pd.DataFrame({"prompt": ["a?"], "chosen": ["b."], "rejected": ["c."], "margin": [0.0]})
    with pytest.raises(ValueError, match="modpo trains LoRA adapters"):
        modpo.build_modpo_trainer(
            ModelConfig("unused"),
            pairs,
            tmp_path,
            lora=LoraSettings(full_finetune=True),
            train=TrainSettings(),
            beta=0.1,
            w_k=1.0,
            chat=True,
        )


# --- a tiny run -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return tiny_setup(tmp_path_factory.mktemp("modpo"))


@pytest.fixture(scope="module")
def trained(setup, tmp_path_factory):
    """A finished 3-preference MODPO run (3 steps each) with evaluation, and its context."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
        register_tiny_rewards()
        run = run_pipeline(config(setup, *MODPO), out=tmp_path_factory.mktemp("runs"))
        return run, prepare(run.config)


def units(run) -> set[str]:
    root = run.root / "units"
    return {p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.json")}


def test_a_run_scores_pairs_trains_one_adapter_per_preference_and_evaluates(trained):
    run, _ = trained
    training = {"pool", "pairs", *(f"train-modpo/{label}" for label in LABELS)}
    assert units(run) == training | {f"eval/{label}" for label in ("base", *LABELS)}
    points = json.loads((run.root / "eval" / "points.json").read_text())
    assert [p["label"] for p in points] == ["base", *LABELS]
    assert [p["preference"] for p in points[1:]] == [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]


def test_pairs_come_from_the_scored_pool_ranked_by_the_first_objective(trained):
    run, _ = trained
    pool = load_pool(run.root / run.result("pool")["path"])
    pairs = pd.read_parquet(run.root / "modpo" / "pairs.parquet")
    pd.testing.assert_frame_equal(pairs, modpo.preference_pairs(pool.frame, OBJECTIVES, 0))
    assert (pairs["chosen_test-a"] > pairs["rejected_test-a"]).all()
    record = run.result("pairs")
    assert record["pairs"] == len(pairs) > 0 and record["dpo_objective"] == "test-a"
    assert record["scales"] == pytest.approx(dict(zip(OBJECTIVES, pool.rewards.std(axis=0), strict=True)))


def test_each_preference_trains_its_own_adapter_with_its_weight_and_margins(trained):
    run, context = trained
    folder = run.root / "adapters" / "modpo"
    weights = {label: load_file(folder / label / "adapter_model.safetensors") for label in LABELS}
    for first, second in [("pref-00", "pref-01"), ("pref-00", "pref-02"), ("pref-01", "pref-02")]:
        assert any(not torch.equal(weights[first][n], weights[second][n]) for n in weights[first])
    pairs = pd.read_parquet(run.root / "modpo" / "pairs.parquet")
    scales = [run.result("pairs")["scales"][name] for name in OBJECTIVES]
    for label, preference, w_k in zip(LABELS, context.preferences, [1.0, 0.5, 0.01], strict=True):
        record = run.result(f"train-modpo/{label}")
        assert (record["steps"], record["samples_seen"]) == (3, 6)  # 3 steps of 2 pairs
        assert record["w_k"] == w_k and np.isfinite(record["final_loss"])  # w = (0, 1): floored at min_weight
        margins = modpo.pair_margins(pairs, OBJECTIVES, preference, 0, scales)
        assert record["mean_margin"] == pytest.approx(margins.mean())
        log = json.loads((folder / label / "train_log.json").read_text())
        assert log["settings"]["w_k"] == w_k and log["settings"]["beta"] == 0.1
        assert log["settings"]["train"]["steps"] == 3 and log["settings"]["train"]["lr"] == 0.01  # train.lr
        assert log["samples"] == len(pairs)
    assert run.result("train-modpo/pref-00")["mean_margin"] == 0.0  # w = (1, 0): plain DPO


def test_policies_serve_each_preference_its_adapter(trained):
    run, context = trained
    policies = modpo.policies(run, context)
    assert list(policies) == LABELS
    for label, policy in policies.items():
        assert policy.adapter == str(run.root / "adapters" / "modpo" / label) and policy.prompt_tags == ""
        assert run.result(f"eval/{label}")["adapter"] == policy.adapter


def test_budget_counts_steps_and_pairs_seen(trained):
    run, _ = trained
    compute = run.compute()["training"]
    assert (compute["steps"], compute["samples_seen"], compute["generations"]) == (9, 18, 0)


def test_an_interrupted_run_resumes_without_retraining_finished_preferences(setup, tmp_path, tiny_rewards, monkeypatch):
    train = modpo.train_modpo
    calls = []

    def crash_on_second(*args, **kwargs):
        calls.append(kwargs["w_k"])
        if len(calls) == 2:
            raise RuntimeError("interrupted")
        return train(*args, **kwargs)

    monkeypatch.setattr(modpo, "train_modpo", crash_on_second)
    run_config = config(setup, *MODPO, "modpo.steps=2", "eval.enabled=false")
    with pytest.raises(RuntimeError, match="interrupted"):
        run_pipeline(run_config, out=tmp_path)
    root = tmp_path / "modpo"
    assert units(Run(root, run_config)) == {"pool", "pairs", "train-modpo/pref-00"}
    kept = [*(root / "adapters" / "modpo" / "pref-00").iterdir(), root / "modpo" / "pairs.parquet"]
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in kept}
    run = run_pipeline(run_config, out=tmp_path)
    assert calls == [1.0, 0.5, 0.5, 0.01]  # pref-00 once; pref-01 again after the crash; then pref-02
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in kept} == before
    assert units(run) == {"pool", "pairs", *(f"train-modpo/{label}" for label in LABELS)}
    assert not list((root / "adapters" / "modpo").glob(".*"))  # no staging folder left behind


# --- configuration --------------------------------------------------------------------------------------------------


def test_defaults_train_as_long_as_a_paretohqd_model_at_the_sft_learning_rate():
    settings = RunConfig().modpo
    assert settings == ModpoConfig(beta=0.1, steps=45, lr=None, max_pairs=None, min_weight=0.01, dpo_objective=0)
    train = modpo.modpo_settings(RunConfig())
    assert (train.steps, train.epochs, train.lr) == (45, None, RunConfig().train.lr)
    assert modpo.modpo_settings(load_config(None, ["modpo.lr=1.0e-5", "modpo.steps=7"])).lr == 1e-5


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("modpo.beta=0", "config.modpo: beta must be a positive number; got 0"),
        ("modpo.lr=-1.0e-5", r"config.modpo: lr must be a positive number or null \(train.lr\)"),
        ("modpo.steps=0", "config.modpo: steps must be a positive integer; got 0"),
        ("modpo.max_pairs=0", "config.modpo: max_pairs must be a positive integer; got 0"),
        ("modpo.min_weight=0", r"config.modpo: min_weight must be in \(0, 1\] \(the loss divides by w_k\); got 0"),
        ("modpo.min_weight=1.5", r"min_weight must be in \(0, 1\]"),
        ("modpo.dpo_objective=-1", "config.modpo: dpo_objective must be a non-negative objective index; got -1"),
        ("modpo.margin=1", "config.modpo: unknown key"),
    ],
)
def test_bad_modpo_settings_name_the_key(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(None, [override])


def test_a_dpo_objective_beyond_the_runs_objectives_fails_before_any_work(setup, tmp_path, tiny_rewards):
    run_config = config(setup, *MODPO, "modpo.dpo_objective=2")
    run = Run(tmp_path / "run", run_config)
    with pytest.raises(ValueError, match=r"modpo.dpo_objective=2 must index one of the run's objectives"):
        modpo.fit(run, prepare(run_config))
    assert units(run) == set()


@pytest.mark.parametrize(
    ("shipped", "base", "name"),
    [("demo_modpo", "demo", "demo-modpo"), ("helpful_assistant_modpo", "helpful_assistant", "helpful_assistant_modpo")],
)
def test_shipped_configs_run_modpo_on_their_base_runs_setting(shipped, base, name):
    run_config, reference = load_config(shipped), load_config(base)
    assert (run_config.method, run_config.name) == ("modpo", name)
    assert (run_config.task, run_config.objectives, run_config.preferences, run_config.seed) == (
        reference.task,
        reference.objectives,
        reference.preferences,
        reference.seed,
    )
    assert (run_config.model, run_config.lora, run_config.train, run_config.eval) == (
        reference.model,
        reference.lora,
        reference.train,
        reference.eval,
    )
    # as many steps as one ParetoHqD preference model trains in both stages
    assert run_config.modpo.steps == reference.train.steps + reference.stage2.steps
