"""RiC (Rewards-in-Context): the tag format, the preference -> desired-reward rules, normalisation, online targets
and the quantile filter as pure functions; then a tiny run end to end (offline SFT on the tagged pool, online rounds,
policies, evaluation with the tags) and its resume."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from paretohqd.config import RunConfig, load_config
from paretohqd.data import get_task
from paretohqd.data.scoring import load_pool
from paretohqd.generate import format_prompts
from paretohqd.methods import ric
from paretohqd.models import load_tokenizer
from paretohqd.pipeline import Context, prepare
from paretohqd.runs import Run
from paretohqd.train import load_trained
from paretohqd.workflow import run_pipeline
from tiny_runs import LetterA, config, tiny_registry, tiny_setup

torch.set_num_threads(1)

OBJECTIVES = ["test-a", "brevity"]
LABELS = ["pref-00", "pref-01", "pref-02"]
# A tiny RiC run: offline SFT over the whole 80-sample pool (40 steps at batch 2), then online rounds.
RIC = [
    "method=ric",
    "ric.online_prompts=24",
    "ric.online_steps=3",
    "ric.online_lr=0.001",
    "ric.generation.max_new_tokens=16",
]


# --- the tags ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ([1.3, -0.4], "<rm1_score> 1.3 <rm2_score> -0.4"),
        ([1.26, -0.44], "<rm1_score> 1.3 <rm2_score> -0.4"),
        ([2.0, -1.96, 0.31], "<rm1_score> 2.0 <rm2_score> -2.0 <rm3_score> 0.3"),
        ([-0.04, 0.0], "<rm1_score> 0.0 <rm2_score> 0.0"),
        ([-12.5001, 3], "<rm1_score> -12.5 <rm2_score> 3.0"),
    ],
)
def test_tags_are_written_to_one_decimal_and_parse_back(values, text):
    assert ric.format_tags(values) == text
    np.testing.assert_array_equal(ric.parse_tags(text), np.round(values, 1))
    assert ric.format_tags(ric.parse_tags(text)) == text


def test_tags_are_found_inside_a_whole_prompt():
    prompt = "\n\nHuman: Hi <rm1_score> 0.5 <rm2_score> -1.0 <rm3_score> 2.3\n\nAssistant:"
    np.testing.assert_array_equal(ric.parse_tags(prompt), [0.5, -1.0, 2.3])


@pytest.mark.parametrize("text", ["no tags here", "<rm2_score> 1.0 <rm1_score> 0.5", "<rm1_score> 1.0 <rm3_score> 2"])
def test_tags_out_of_order_or_missing_are_an_error(text):
    with pytest.raises(ValueError, match="no RiC tags"):
        ric.parse_tags(text)


@pytest.mark.parametrize("values", [[], [np.nan, 1.0], [[1.0, 2.0]]])
def test_format_tags_needs_finite_values(values):
    with pytest.raises(ValueError, match="non-empty 1-D array of finite rewards"):
        ric.format_tags(values)


def test_tags_go_before_the_exact_response_marker_keeping_letters_of_the_marker_set():
    # RiC's prompt.rstrip("\n\nAssistant:") strips a character set: it would cut this prompt to "...Is it ".
    task = get_task("helpful-assistant")
    prompt = "\n\nHuman: Is it tA\n\nAssistant:"
    tagged = task.insert_before_response(prompt, ric.format_tags([1.0, -0.5]))
    assert tagged == "\n\nHuman: Is it tA <rm1_score> 1.0 <rm2_score> -0.5\n\nAssistant:"


def test_tagged_samples_put_each_samples_values_into_its_prompt():
    context = Context(RunConfig(), get_task("reddit-summary"), np.array([[1.0, 0.0]]))
    samples = pd.DataFrame(
        {"prompt": ["### Instruction: Sum up. ### Input: A cat. ### Response: "] * 2, "response": ["Cat.", "A cat."]}
    )
    frame = ric.tagged_samples(context, samples, np.array([[0.5, -1.2], [0.0, 2.0]]))
    assert frame["prompt"].tolist() == [
        "### Instruction: Sum up. ### Input: A cat. <rm1_score> 0.5 <rm2_score> -1.2 ### Response: ",
        "### Instruction: Sum up. ### Input: A cat. <rm1_score> 0.0 <rm2_score> 2.0 ### Response: ",
    ]
    assert frame["response"].tolist() == ["Cat.", "A cat."]
    assert frame["plain_prompt"].tolist() == samples["prompt"].tolist()
    assert frame["summary"].tolist() == [0.5, 0.0] and frame["faithful"].tolist() == [-1.2, 2.0]


# --- normalisation and desired rewards ------------------------------------------------------------------------------


def test_rewards_are_z_normalised_with_the_population_std_and_rounded():
    rewards = np.random.default_rng(1).normal([3.0, -1.0], [2.0, 0.1], size=(50, 2))
    mean, std = ric.reward_stats(rewards)
    np.testing.assert_allclose(mean, np.mean(rewards, axis=0))
    np.testing.assert_allclose(std, np.std(rewards, axis=0))
    normalised = ric.normalize_rewards(rewards, mean, std)
    np.testing.assert_array_equal(normalised, np.round((rewards - rewards.mean(0)) / rewards.std(0), 1) + 0.0)
    assert not np.signbit(normalised[normalised == 0]).any()  # no -0.0


def test_a_constant_objective_cannot_be_normalised():
    with pytest.raises(ValueError, match=r"objective column\(s\) \[1\] are constant"):
        ric.reward_stats([[0.1, 2.0], [0.3, 2.0]])


LOW, HIGH = [-1.0, -2.0], [2.0, 1.0]


@pytest.mark.parametrize(
    ("preference", "expected"),
    [
        # target_i = w_i / ||w||_2 * (high_i - low_i) + low_i, ranges 3 and 3
        ([1.0, 0.0], [2.0, -2.0]),
        ([0.5, 0.5], [1.1, 0.1]),  # 0.7071 * 3 - 1 = 1.12, 0.7071 * 3 - 2 = 0.12
        ([0.2, 0.8], [-0.3, 0.9]),  # w / ||w|| = (0.2425, 0.9701): -0.27, 0.91
        ([2.0, 2.0], [1.1, 0.1]),  # scale does not matter
    ],
)
def test_l2_rule_on_hand_worked_cases(preference, expected):
    np.testing.assert_array_equal(ric.desired_rewards(preference, LOW, HIGH, "l2"), expected)


@pytest.mark.parametrize(
    ("preference", "expected"),
    [
        # the largest weight gets high; others min(M * w_i, 1) * (high_i - low_i) + low_i
        ([1.0, 0.0], [2.0, -2.0]),
        ([0.5, 0.5], [2.0, 1.0]),  # a tie goes to the first objective; the other gets min(1, 1) * 3 - 2
        ([0.2, 0.8], [0.2, 1.0]),  # 0.4 * 3 - 1
        ([0.0, 1.0], [-1.0, 1.0]),
    ],
)
def test_linf_rule_on_hand_worked_cases(preference, expected):
    np.testing.assert_array_equal(ric.desired_rewards(preference, LOW, HIGH, "linf"), expected)


def test_linf_rule_with_three_objectives():
    # third weight largest -> 1.0; the others min(3 * 0.2, 1) = 0.6 of [0, 1]
    np.testing.assert_array_equal(ric.desired_rewards([0.2, 0.2, 0.6], [0, 0, 0], [1, 1, 1], "linf"), [0.6, 0.6, 1.0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([0.5, 0.5], LOW, HIGH, "l1"), r"rule must be one of 'l2', 'linf'; got 'l1'"),
        (([0.5, 0.5], [1.0, 0.0], [0.0, 1.0], "l2"), "low <= high"),
        (([0.5, 0.5], [0.0], [1.0, 1.0], "l2"), "one value per objective"),
        (([0.2, 0.3, 0.5], LOW, HIGH, "l2"), "each preference needs 2 weights"),
    ],
)
def test_desired_rewards_reject_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        ric.desired_rewards(*args)


# --- online rounds ------------------------------------------------------------------------------------------------


def test_online_targets_free_one_objective_and_ask_the_maximum_of_the_others():
    low, high = np.array([-1.0, -2.0, -0.5]), np.array([2.0, 1.0, 1.5])
    targets = ric.sample_online_targets(np.random.default_rng(0), 3000, low, high)
    assert targets.shape == (3000, 3)
    assert ((targets >= low) & (targets <= high)).all()
    np.testing.assert_array_equal(targets, np.round(targets, 1))
    below = targets < high
    assert below.sum(axis=1).max() == 1  # at most one objective below its maximum (it may draw high itself)
    free = below.argmax(axis=1)[below.any(axis=1)]
    assert np.allclose(np.bincount(free, minlength=3) / len(targets), 1 / 3, atol=0.04)
    for j in range(3):  # the free target is the smallest of 3 uniform positions: mean position 1/4, from low up
        position = (targets[below[:, j], j] - low[j]) / (high[j] - low[j])
        assert position.min() == 0 and position.mean() == pytest.approx(0.25, abs=0.03)
    again = ric.sample_online_targets(np.random.default_rng(0), 3000, low, high)
    np.testing.assert_array_equal(targets, again)


def test_quantile_filter_keeps_samples_on_the_frontier_of_any_objective():
    normalised = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.2]])
    # Each column sorted is [0, 0, 0.2, 0.5, 1]; its 0.7 quantile is 0.2 + 0.8 * 0.3 = 0.44.
    np.testing.assert_array_equal(ric.online_keep_mask(normalised, 0.7), [False, True, True, True, False])
    np.testing.assert_array_equal(ric.online_keep_mask(normalised, 0.1), [True, True, True, True, True])


@pytest.mark.parametrize("quantile", [0, 1, 1.5, -0.2])
def test_quantile_must_be_inside_0_1(quantile):
    with pytest.raises(ValueError, match=r"quantile must be in \(0, 1\)"):
        ric.online_keep_mask(np.zeros((3, 2)), quantile)


# --- configuration -------------------------------------------------------------------------------------------------


def test_default_offline_training_is_one_epoch_over_the_whole_pool_and_online_is_slow_and_constant():
    config = RunConfig()
    offline = ric.offline_settings(config)
    assert (offline.steps, offline.epochs, offline.lr) == (None, 1.0, config.train.lr)
    online = ric.online_settings(config)
    assert (online.steps, online.epochs, online.lr, online.scheduler) == (None, 1.0, 1e-5, "constant")
    steps = ric.online_settings(load_config(None, ["ric.online_steps=7", "ric.online_lr=2.0e-5"]))
    assert (steps.steps, steps.epochs, steps.lr) == (7, None, 2e-5)
    assert ric.offline_settings(load_config(None, ["ric.steps=9"])).steps == 9


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("ric.rule=l3", r"config.ric: rule must be one of 'l2', 'linf'; got 'l3'"),
        ("ric.online_quantile=1.0", r"config.ric: online_quantile must be in \(0, 1\); got 1.0"),
        ("ric.online_quantile=0", r"online_quantile must be in \(0, 1\); got 0"),
        ("ric.online_rounds=-1", "online_rounds must be a non-negative integer; got -1"),
        ("ric.online_original=-2", "online_original must be a non-negative integer or null; got -2"),
        ("ric.epochs=0", "epochs must be a positive number; got 0"),
        ("ric.online_steps=0", "online_steps must be a positive integer; got 0"),
        ("ric.online_lr=-1.0e-5", "online_lr must be a positive number"),
        ("ric.online_prompts=0", "online_prompts must be a positive integer"),
    ],
)
def test_bad_ric_settings_name_the_key(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(None, [override])


# --- a tiny run -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return tiny_setup(tmp_path_factory.mktemp("ric"))


@pytest.fixture(scope="module")
def trained(setup, tmp_path_factory):
    """A finished two-round RiC run with evaluation, and its context."""
    with tiny_registry():
        run = run_pipeline(config(setup, *RIC, "ric.online_rounds=2"), out=tmp_path_factory.mktemp("runs"))
        return run, prepare(run.config)


def units(run) -> set[str]:
    return {p.stem for p in (run.root / "units").glob("*.json")}


def test_a_run_scores_trains_offline_and_online_and_evaluates(trained):
    run, _ = trained
    training = {"pool", "ric-stats", "train-offline"} | {
        f"{unit}-online-{r}" for unit in ("generate", "pool", "train") for r in (1, 2)
    }
    assert units(run) == training
    assert {p.stem for p in (run.root / "units" / "eval").glob("*.json")} == {"base", *LABELS}
    for folder in ("offline", "online-1", "online-2"):
        assert (run.root / "adapters" / "ric" / folder / "adapter_config.json").is_file()


def test_stats_are_the_pools_mean_std_and_normalised_range(trained):
    run, _ = trained
    pool = load_pool(run.root / run.result("pool")["path"])
    stats = json.loads((run.root / "ric" / "stats.json").read_text())
    assert list(stats) == OBJECTIVES
    rewards = pool.frame[OBJECTIVES].to_numpy()
    normalised = np.round((rewards - rewards.mean(0)) / rewards.std(0), 1)
    for j, name in enumerate(OBJECTIVES):
        assert stats[name]["mean"] == pytest.approx(rewards[:, j].mean(), abs=1e-12)
        assert stats[name]["std"] == pytest.approx(rewards[:, j].std(), abs=1e-12)
        assert (stats[name]["low"], stats[name]["high"]) == (normalised[:, j].min(), normalised[:, j].max())
    assert run.result("ric-stats")["stats"] == stats


def test_offline_training_covers_the_whole_pool_with_each_samples_own_tags(trained):
    run, context = trained
    pool = load_pool(run.root / run.result("pool")["path"])
    data = pd.read_parquet(run.root / "ric" / "train-offline.parquet")
    assert len(data) == len(pool.frame) == 80
    rewards = pool.frame[OBJECTIVES].to_numpy()
    expected = np.round((rewards - rewards.mean(0)) / rewards.std(0), 1)
    np.testing.assert_array_equal(data[OBJECTIVES].to_numpy(), expected)
    assert data["plain_prompt"].tolist() == pool.frame["prompt"].tolist()
    assert data["response"].tolist() == pool.frame["response"].tolist()
    for row in data.itertuples():
        assert row.prompt == f"{row.plain_prompt} {ric.format_tags(expected[row.Index])}"  # chat task: end of message
        np.testing.assert_array_equal(ric.parse_tags(row.prompt), expected[row.Index])
    log = json.loads((run.root / "adapters" / "ric" / "offline" / "train_log.json").read_text())
    assert log["samples"] == 80 and log["settings"]["train"]["epochs"] == 1.0
    assert run.result("train-offline")["steps"] == 40  # one epoch at batch 2


def test_online_rounds_relabel_generations_with_the_rewards_they_got(trained):
    run, _ = trained
    stats = json.loads((run.root / "ric" / "stats.json").read_text())
    mean = np.array([stats[n]["mean"] for n in OBJECTIVES])
    std = np.array([stats[n]["std"] for n in OBJECTIVES])
    high = np.array([stats[n]["high"] for n in OBJECTIVES])
    pool = load_pool(run.root / run.result("pool")["path"])
    pool_normalised = np.round((pool.rewards - mean) / std, 1)
    pool_kept = ric.online_keep_mask(pool_normalised, 0.7)
    previous_online = 0
    for r in (1, 2):
        generations = pd.read_parquet(run.root / "ric" / "generations" / f"online-{r}.parquet")
        desired = generations[[f"desired_{n}" for n in OBJECTIVES]].to_numpy()
        assert ((desired < high).sum(axis=1) <= 1).all()
        assert run.result(f"generate-online-{r}")["generations"] == 24
        assert run.result(f"generate-online-{r}")["kept"] == len(generations) > 0

        online = load_pool(run.root / run.result(f"pool-online-{r}")["path"])
        obtained = np.round((online.rewards - mean) / std, 1) + 0.0
        kept = obtained[ric.online_keep_mask(obtained, 0.7)]
        data = pd.read_parquet(run.root / "ric" / f"train-online-{r}.parquet")
        fresh = data[data["source"] == f"online-{r}"]
        np.testing.assert_array_equal(fresh[OBJECTIVES].to_numpy(), kept)
        for row in fresh.itertuples():
            np.testing.assert_array_equal(ric.parse_tags(row.prompt), fresh.loc[row.Index, OBJECTIVES].to_numpy())
        generated = data["source"].str.startswith("online-").sum()
        assert generated == previous_online + len(kept)  # earlier rounds' kept samples stay
        previous_online = generated
        original = data[data["source"] == "pool"]
        assert len(original) == min(generated, pool_kept.sum())
        rows = [
            pool.frame.index[(pool.frame["prompt"] == p) & (pool.frame["response"] == s)][0]
            for p, s in zip(original["plain_prompt"], original["response"], strict=True)
        ]
        assert pool_kept[rows].all()

        log = json.loads((run.root / "adapters" / "ric" / f"online-{r}" / "train_log.json").read_text())
        previous = "offline" if r == 1 else f"online-{r - 1}"
        assert Path(log["settings"]["init_adapter"]) == run.root / "adapters" / "ric" / previous
        assert log["settings"]["train"]["lr"] == 0.001 and log["settings"]["train"]["scheduler"] == "constant"
        assert log["steps"] == 3


def test_online_training_moves_the_adapter(trained):
    run, _ = trained
    weights = [
        load_file(run.root / "adapters" / "ric" / f / "adapter_model.safetensors") for f in ("offline", "online-1")
    ]
    assert weights[0].keys() == weights[1].keys()
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_policies_share_the_final_adapter_and_ask_each_preference_its_rewards(trained):
    run, context = trained
    policies = ric.policies(run, context)
    assert list(policies) == LABELS
    assert {p.adapter for p in policies.values()} == {str(run.root / "adapters" / "ric" / "online-2")}
    stats = json.loads((run.root / "ric" / "stats.json").read_text())
    low = [stats[n]["low"] for n in OBJECTIVES]
    high = [stats[n]["high"] for n in OBJECTIVES]
    tags = [policies[label].prompt_tags for label in LABELS]
    assert len(set(tags)) == 3
    np.testing.assert_array_equal(ric.parse_tags(tags[0]), [high[0], low[1]])  # w = (1, 0)
    np.testing.assert_array_equal(ric.parse_tags(tags[2]), [low[0], high[1]])  # w = (0, 1)
    np.testing.assert_array_equal(ric.parse_tags(tags[1]), ric.desired_rewards([0.5, 0.5], low, high, "l2"))
    for label in LABELS:  # evaluation prompted each preference with its tags
        assert run.result(f"eval/{label}")["prompt_tags"] == policies[label].prompt_tags
        assert run.result(f"eval/{label}")["adapter"] == policies[label].adapter


def test_the_trained_model_answers_differently_to_different_tags(trained):
    run, context = trained
    policies = ric.policies(run, context)
    model = load_trained(run.config.model, policies["pref-00"].adapter)
    tokenizer = load_tokenizer(run.config.model)

    def next_token_logits(tags: str) -> torch.Tensor:
        text = format_prompts(tokenizer, [context.task.insert_before_response("Tell me about thing 3?", tags)], True)
        with torch.no_grad():
            return model(**tokenizer(text, return_tensors="pt", add_special_tokens=False)).logits[0, -1]

    first, last = next_token_logits(policies["pref-00"].prompt_tags), next_token_logits(policies["pref-02"].prompt_tags)
    assert torch.equal(first, next_token_logits(policies["pref-00"].prompt_tags))
    assert (first - last).abs().max() > 1e-4


def test_budget_counts_steps_samples_and_generations(trained):
    run, _ = trained
    compute = run.compute()["training"]
    offline, online = run.result("train-offline"), [run.result(f"train-online-{r}") for r in (1, 2)]
    assert compute["steps"] == offline["steps"] + sum(r["steps"] for r in online) == 40 + 3 + 3
    assert compute["samples_seen"] == 80 + 6 + 6
    assert compute["generations"] == 48


def test_policies_before_training_say_what_is_missing(setup, tmp_path, tiny_rewards):
    run_config = config(setup)
    with pytest.raises(FileNotFoundError, match="no RiC reward statistics"):
        ric.policies(Run(tmp_path / "empty", run_config), prepare(run_config))


def test_an_interrupted_online_round_resumes_without_redoing_finished_units(setup, tmp_path, tiny_rewards):
    overrides = (*RIC, "ric.online_rounds=1", "eval.enabled=false", "name=resumed")
    LetterA.fail_on_call = 2  # call 1 scores the pool, call 2 the first online round's generations
    with pytest.raises(RuntimeError, match="scorer crashed once"):
        run_pipeline(config(setup, *overrides), out=tmp_path)
    root = tmp_path / "resumed"
    assert {"pool", "ric-stats", "train-offline", "generate-online-1"} == {p.stem for p in (root / "units").glob("*")}
    kept = [*(root / "adapters" / "ric" / "offline").iterdir(), root / "ric" / "generations" / "online-1.parquet"]
    kept += list((root / "units").iterdir())
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in kept}

    run = run_pipeline(config(setup, *overrides), out=tmp_path)
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in kept} == before
    assert {"pool-online-1", "train-online-1"} <= units(run)

    # A lost marker redoes only its unit.
    (root / "units" / "train-online-1.json").unlink()
    offline = {p: p.stat().st_mtime_ns for p in (root / "adapters" / "ric" / "offline").iterdir()}
    calls = LetterA.calls
    run_pipeline(config(setup, *overrides), out=tmp_path)
    assert (root / "units" / "train-online-1.json").is_file()
    assert {p: p.stat().st_mtime_ns for p in offline} == offline and LetterA.calls == calls
