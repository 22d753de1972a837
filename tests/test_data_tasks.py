"""Task presets: their objectives, generation settings and prompt format, and which data their loaders read."""

import dataclasses

import pytest

from data_files import COMPARISONS_SCHEMA, comparison, datasets_cache, hh_row, write_rows  # noqa: F401 (a fixture)
from paretohqd.data import TASKS, get_task, summary_prompt, task_names
from paretohqd.rewards import reward_names

pytestmark = pytest.mark.usefixtures("datasets_cache")


def test_the_presets_and_their_settings():
    assert task_names() == ["chat-offline", "helpful-assistant", "reddit-summary"]
    settings = {
        name: (task.objectives, task.three_objectives, task.max_new_tokens, task.chat_template)
        for name, task in TASKS.items()
    }
    assert settings == {
        "helpful-assistant": (("harmless", "helpful"), ("harmless", "helpful", "humor"), 128, False),
        "reddit-summary": (("summary", "faithful"), None, 48, False),
        "chat-offline": (("relevance", "brevity"), ("relevance", "brevity", "positivity"), 64, True),
    }


def test_every_objective_of_every_preset_is_a_registered_reward():
    for task in TASKS.values():
        assert set(task.objectives) | set(task.three_objectives or ()) <= set(reward_names())


def test_objectives_can_be_replaced_and_the_preset_stays_as_it_was():
    task = get_task("chat-offline", objectives=["relevance", "brevity", "positivity"])
    assert task.objectives == ("relevance", "brevity", "positivity")
    assert get_task("chat-offline").objectives == ("relevance", "brevity")
    assert get_task("helpful-assistant").with_objectives(["helpful", "humor"]).objectives == ("helpful", "humor")
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.max_new_tokens = 256


@pytest.mark.parametrize(
    ("objectives", "error", "message"),
    [
        (["relevance", "wit"], ValueError, "unknown reward 'wit' in the objectives of task 'chat-offline'; known"),
        (["relevance"], ValueError, "objectives must be at least two distinct reward names"),
        (["brevity", "brevity"], ValueError, "objectives must be at least two distinct reward names"),
        ("relevance", TypeError, "objectives must be a sequence of reward names; got 'relevance'"),
    ],
)
def test_objectives_must_be_two_or_more_distinct_registered_rewards(objectives, error, message):
    with pytest.raises(error, match=message):
        get_task("chat-offline", objectives=objectives)


def test_an_unknown_task_suggests_the_closest_name_and_lists_the_known_ones():
    with pytest.raises(
        ValueError, match=r"unknown task 'chat-ofline' \(did you mean 'chat-offline'\?\); known tasks: "
    ):
        get_task("chat-ofline")
    with pytest.raises(ValueError, match="known tasks: chat-offline, helpful-assistant, reddit-summary"):
        get_task("sentiment")


def test_helpful_assistant_pools_train_rows_and_evaluates_on_every_fourth_test_row(tmp_path):
    write_rows(tmp_path / "hh" / "train.jsonl", [hh_row(f"t{i}", "yes", "no") for i in range(3)])
    write_rows(tmp_path / "hh" / "test.jsonl", [hh_row(f"e{i}", "yes", "no") for i in range(6)])
    task = get_task("helpful-assistant")
    assert len(task.load_pool(source=tmp_path / "hh")) == 6
    assert task.load_train_prompts(source=tmp_path / "hh") == [f"\n\nHuman: t{i}\n\nAssistant:" for i in range(3)]
    assert task.load_eval_prompts(source=tmp_path / "hh") == [
        "\n\nHuman: e0\n\nAssistant:",
        "\n\nHuman: e4\n\nAssistant:",
    ]


def test_reddit_summary_pools_train_comparisons_and_evaluates_on_validation_posts(tmp_path):
    posts = [
        f"Post {i}: my cat ran away last week and I have looked for her in every street of the town, twice." * 2
        for i in range(3)
    ]
    write_rows(tmp_path / "tldr" / "train" / "0.parquet", [comparison(posts[0])], COMPARISONS_SCHEMA)
    write_rows(tmp_path / "tldr" / "validation" / "0.parquet", [comparison(p) for p in posts[1:]], COMPARISONS_SCHEMA)
    task = get_task("reddit-summary")
    assert task.load_pool(source=tmp_path / "tldr")["prompt"].tolist() == [summary_prompt(posts[0])] * 2
    assert task.load_train_prompts(source=tmp_path / "tldr") == [summary_prompt(posts[0])]
    assert task.load_eval_prompts(source=tmp_path / "tldr") == [summary_prompt(post) for post in posts[1:]]


def test_chat_offline_pool_answers_training_prompts_only_and_eval_prompts_are_disjoint():
    task = get_task("chat-offline")
    train, evaluation = task.load_train_prompts(), task.load_eval_prompts()
    pool = task.load_pool()
    assert set(pool["prompt"]) <= set(train)
    assert set(pool["style"]) == {"plain", "brief", "detailed", "warm"}
    assert (pool["response"].str.strip() != "").all()
    assert (len(train), len(evaluation)) == (600, 148) and set(train).isdisjoint(evaluation)
    assert len(task.load_eval_prompts(eval_fraction=0.5)) == 377
