"""MORLHF: the reward functions GRPO optimises (z-scored per objective on the plain prompt and the response cut at the
stop markers, weighted by the preference), its config checks, and a tiny run end to end: one GRPO-trained adapter
per preference, budget records, the common evaluation, and resume."""

import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from paretohqd.config import load_config
from paretohqd.data.scoring import ScoredPool
from paretohqd.methods import morlhf
from paretohqd.pipeline import prepare
from paretohqd.rewards import registry
from paretohqd.rewards.base import Reward
from paretohqd.runs import Run
from paretohqd.workflow import run_pipeline
from tiny_runs import LetterA, config, register_tiny_rewards, tiny_setup

torch.set_num_threads(1)

LABELS = ["pref-00", "pref-01", "pref-02"]
# 2 steps of 2 prompts x 3 completions of at most 8 tokens per preference.
MORLHF = [
    "method=morlhf",
    "morlhf.steps=2",
    "morlhf.batch_size=2",
    "morlhf.num_generations=3",
    "morlhf.max_new_tokens=8",
    "morlhf.prompts=8",
    "morlhf.lr=0.01",
]


class WordCount(Reward):
    """The response's word count; remembers what it was asked to score."""

    name = "words"

    def __init__(self):
        self.seen: list[tuple[str, str]] = []

    def _score(self, prompts, responses):
        self.seen += list(zip(prompts, responses, strict=True))
        return np.array([len(r.split()) for r in responses], dtype=float)


class SpyLetterA(LetterA):
    """The tiny run's test-a reward, recording every (prompt, response) pair it scores."""

    seen: list[tuple[str, str]] = []

    def _score(self, prompts, responses):
        SpyLetterA.seen += list(zip(prompts, responses, strict=True))
        return super()._score(prompts, responses)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return tiny_setup(tmp_path_factory.mktemp("morlhf"))


@pytest.fixture(scope="module")
def trained(setup, tmp_path_factory):
    """A tiny MORLHF run, trained and evaluated once for the module; its test-a reward records what it scores."""
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        # Evaluation loads adapters through PEFT, which reads an attribute transformers 5.24 renamed.
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        patch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
        register_tiny_rewards()
        registry.register_reward("test-a", SpyLetterA, overwrite=True)
        SpyLetterA.seen = []
        cfg = config(setup, *MORLHF, "name=morlhf")
        run = run_pipeline(cfg, out=tmp_path_factory.mktemp("runs"))
        return run, cfg, list(SpyLetterA.seen)


# --- the reward functions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "text"),
    [
        ("plain text", "plain text"),
        ([{"role": "user", "content": "Hi?"}], "Hi?"),
        ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}], "Hi?"),
        ([{"role": "assistant", "content": " An answer."}], " An answer."),
    ],
)
def test_message_text_is_the_string_or_the_last_message_content(item, text):
    assert morlhf.message_text(item) == text


@pytest.mark.parametrize("item", [[], [{"role": "user"}], 3, [{"role": "user", "content": ["part"]}]])
def test_message_text_rejects_what_is_neither_text_nor_chat_messages(item):
    with pytest.raises(TypeError, match="string or a list of chat messages"):
        morlhf.message_text(item)


def test_a_chat_pair_reaches_the_reward_as_plain_prompt_and_response_cut_at_the_stops():
    words = WordCount()
    reward = morlhf.ObjectiveReward(words, mean=2.0, std=4.0, stops=("\n\nHuman:",))
    prompts = [[{"role": "user", "content": "How are you?"}]] * 2
    completions = [
        [{"role": "assistant", "content": " Fine, thanks a lot.\n\nHuman: and you"}],
        [{"role": "assistant", "content": "Good."}],
    ]
    out = reward(prompts=prompts, completions=completions, completion_ids=[[1], [2]], trainer_state=None)
    assert words.seen == [("How are you?", "Fine, thanks a lot."), ("How are you?", "Good.")]
    assert out == [(4 - 2) / 4, (1 - 2) / 4]
    assert isinstance(out, list) and all(isinstance(v, float) for v in out)
    assert reward.__name__ == "words"


def test_a_plain_text_pair_is_scored_as_it_is_up_to_the_first_stop_marker():
    words = WordCount()
    reward = morlhf.ObjectiveReward(words, stops=("\n\nHuman:", "###"))
    prompt = "\n\nHuman: Hi\n\nAssistant:"
    assert reward([prompt], [" Hello there ### more\n\nHuman: again"]) == [2.0]
    assert words.seen == [(prompt, "Hello there")]


@pytest.mark.parametrize(("mean", "std"), [(0.0, 0.0), (0.0, -1.0), (np.nan, 1.0), (0.0, np.inf)])
def test_an_objective_reward_needs_a_finite_mean_and_a_positive_std(mean, std):
    with pytest.raises(ValueError, match="'words': mean must be finite and std positive"):
        morlhf.ObjectiveReward(WordCount(), mean, std)


def test_the_weighted_sum_of_the_reward_functions_is_the_preference_weighted_pool_z_score(tiny_rewards):
    pool = ScoredPool(
        pd.DataFrame(
            {"prompt": ["p"] * 4, "response": ["r"] * 4, "test-a": [0.0, 0.2, 0.4, 0.2], "brevity": [0.9] * 3 + [0.5]}
        ),
        ("test-a", "brevity"),
    )
    funcs = morlhf.objective_rewards(pool, ("test-a", "brevity"), stops=("\n\nHuman:",))
    prompts = [[{"role": "user", "content": "Tell me about a cat?"}]] * 3
    texts = ["a cat", "banana bread and jam", "the dog sat\n\nHuman: and a cat and a bat"]
    completions = [[{"role": "assistant", "content": t}] for t in texts]
    w = np.array([0.25, 0.75])
    scalarised = w @ np.array([f(prompts=prompts, completions=completions) for f in funcs])
    # By hand: test-a = share of the letter a among letters, brevity = exp(-words / 40), each z-scored with the
    # pool's mean and (population) std; the third response is scored up to "\n\nHuman:" only.
    share_a = np.array([2 / 4, 6 / 17, 1 / 9])
    brevity = np.exp(-np.array([2, 4, 3]) / 40)
    mean_a, std_a = 0.2, np.sqrt(0.02)
    mean_b, std_b = 0.8, np.sqrt(3 * 0.1**2 + 0.3**2) / 2
    expected = 0.25 * (share_a - mean_a) / std_a + 0.75 * (brevity - mean_b) / std_b
    np.testing.assert_allclose(scalarised, expected, rtol=1e-12)
    raw = morlhf.objective_rewards(pool, ("test-a", "brevity"), stops=("\n\nHuman:",), normalize=False)
    np.testing.assert_allclose([f(prompts=prompts, completions=completions) for f in raw], [share_a, brevity])


def test_an_objective_constant_over_the_pool_cannot_be_z_scored(tiny_rewards):
    pool = ScoredPool(
        pd.DataFrame({"prompt": ["p"] * 3, "response": ["r"] * 3, "test-a": [0.1, 0.2, 0.3], "brevity": [0.5] * 3}),
        ("test-a", "brevity"),
    )
    with pytest.raises(ValueError, match="brevity are constant over the scored pool"):
        morlhf.objective_rewards(pool, ("test-a", "brevity"), ())
    assert len(morlhf.objective_rewards(pool, ("test-a", "brevity"), (), normalize=False)) == 2


# --- the config ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("morlhf.num_generations=1", "num_generations must be an integer >= 2"),
        ("morlhf.grad_accum=5", "grad_accum=5 must divide the completions of a step"),
        ("morlhf.beta=-0.1", "beta must be a non-negative number"),
        ("morlhf.lr=0", "lr must be a positive number"),
        ("morlhf.top_p=1.5", r"top_p must be in \(0, 1\]"),
        ("morlhf.steps=0", "steps must be a positive integer"),
        ("morlhf.max_new_tokens=0", "max_new_tokens must be a positive integer"),
    ],
)
def test_a_bad_morlhf_setting_is_a_clear_config_error(override, message):
    with pytest.raises(ValueError, match=f"config.morlhf: {message}"):
        load_config(None, [override])


def test_a_grpo_step_generates_batch_size_groups_and_trains_on_them_in_grad_accum_micro_batches(setup, tiny_rewards):
    cfg = config(setup, "morlhf.batch_size=4", "morlhf.num_generations=4", "morlhf.grad_accum=2", "morlhf.beta=0")
    args = morlhf._grpo_config(prepare(cfg), setup[0] / "scratch", np.array([0.25, 0.75]), progress=False)
    assert args.generation_batch_size == 16  # 4 prompts x 4 completions, generated at once
    assert args.per_device_train_batch_size == 8 and args.gradient_accumulation_steps == 2
    assert args.num_generations == 4 and args.steps_per_generation == 2 and args.num_iterations == 1
    assert args.reward_weights == [0.25, 0.75] and args.beta == 0 and args.learning_rate == 1e-5
    assert args.max_completion_length == 64  # the task's budget (chat-offline) when morlhf.max_new_tokens is unset
    assert args.max_steps == 20 and args.lr_scheduler_type == "constant" and not args.activation_checkpointing


@pytest.mark.parametrize("name", ["demo_morlhf", "helpful_assistant_morlhf"])
def test_the_shipped_morlhf_configs_train_five_preferences(name):
    cfg = load_config(name)
    assert cfg.method == "morlhf"
    assert cfg.preferences == ((0.0, 1.0), (0.25, 0.75), (0.5, 0.5), (0.75, 0.25), (1.0, 0.0))
    assert cfg.morlhf.normalize and cfg.morlhf.beta > 0


# --- a tiny run ---------------------------------------------------------------------------------------------------


def lora_tensors(run, label) -> dict[str, torch.Tensor]:
    return load_file(str(run.root / "adapters" / "morlhf" / label / "adapter_model.safetensors"))


def test_every_preference_gets_its_own_trained_adapter(trained):
    run, _, _ = trained
    adapters = {label: lora_tensors(run, label) for label in LABELS}
    for tensors in adapters.values():
        # LoRA's B matrices start at zero (the adapter starts as the base model): training moved them.
        assert all(t.abs().max() > 0 for name, t in tensors.items() if "lora_B" in name)
    for i, a in enumerate(LABELS):
        for b in LABELS[i + 1 :]:
            assert any(not torch.equal(adapters[a][n], adapters[b][n]) for n in adapters[a]), (a, b)


def test_each_unit_records_its_budget_and_rewards(trained):
    run, _, _ = trained
    for weights, label in zip([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]], LABELS, strict=True):
        record = run.result(f"train-rl/{label}")
        assert record["weights"] == weights
        assert record["steps"] == 2
        assert record["samples_seen"] == record["generations"] == 2 * 2 * 3
        assert record["prompts"] == 8
        assert set(record["final_objective_rewards"]) == {"test-a", "brevity"}
        expected = np.dot(weights, list(record["final_objective_rewards"].values()))
        assert record["final_reward"] == pytest.approx(expected, abs=1e-6)
        log = json.loads((run.root / "adapters" / "morlhf" / label / "train_log.json").read_text())
        assert [entry["step"] for entry in log["rewards"]] == [1, 2]
        assert all(entry["kl"] >= 0 for entry in log["rewards"])  # beta > 0: TRL logs the KL to the base model
        assert log["settings"]["weights"] == weights
    stats = run.result("pool")["stats"]
    assert record["reward_scale"] == {n: {"mean": stats[n]["mean"], "std": stats[n]["std"]} for n in stats}
    assert run.compute()["stages"]["train-rl"]["generations"] == 3 * 12


def test_the_rewards_see_plain_training_prompts_and_responses(trained, tiny_rewards):
    _, cfg, seen = trained
    prompts = set(morlhf.training_prompts(prepare(cfg)))
    assert len(prompts) == 8
    # test-a scored the pool, the GRPO completions and the evaluation; none of it carried chat markup. GRPO drew
    # 2 steps x 2 of the 8 training prompts per preference, each answered 3 times.
    grpo = [p for p, _ in seen if p in prompts]
    assert len(grpo) == 3 * 2 * 2 * 3 and len(set(grpo)) == 4  # every preference draws the same prompts
    assert not any("<|im_start|>" in p or "<|im_end|>" in r or "assistant\n" in p for p, r in seen)


def test_policies_point_at_the_adapters_and_go_through_the_common_evaluation(trained, tiny_rewards):
    run, cfg, _ = trained
    policies = morlhf.policies(run, prepare(cfg))
    assert {label: p.adapter for label, p in policies.items()} == {
        label: str(run.root / "adapters" / "morlhf" / label) for label in LABELS
    }
    assert all(p.prompt_tags == "" for p in policies.values())
    points = json.loads((run.root / "eval" / "points.json").read_text())
    assert [p["label"] for p in points] == ["base", *LABELS]
    assert [p["preference"] for p in points[1:]] == [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    assert all(p["n"] == 4 for p in points)


def test_a_second_fit_trains_only_the_preferences_without_a_marker(trained, tmp_path, monkeypatch, tiny_rewards):
    run, cfg, _ = trained
    root = tmp_path / "copy"
    shutil.copytree(run.root, root)
    markers = {label: (root / "units" / "train-rl" / f"{label}.json").read_bytes() for label in LABELS}
    (root / "units" / "train-rl" / "pref-01.json").unlink()
    calls = []

    def fake_train(context, prompts, rewards, weights, out_dir, progress=True):
        calls.append(out_dir.name)
        return {"steps": 1, "samples_seen": 6, "generations": 6, "rewards": [{"reward": 0.0, "objectives": {}}]}

    monkeypatch.setattr(morlhf, "train_grpo", fake_train)
    morlhf.fit(Run(root, cfg), prepare(cfg))
    assert calls == ["pref-01"]
    for label in ("pref-00", "pref-02"):
        assert (root / "units" / "train-rl" / f"{label}.json").read_bytes() == markers[label]
    morlhf.fit(Run(root, cfg), prepare(cfg))
    assert calls == ["pref-01"]
