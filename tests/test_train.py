import json

import pandas as pd
import pytest
import torch
from peft import PeftModel, get_peft_model_state_dict
from safetensors.torch import load_file
from trl import SFTTrainer

from paretohqd.generate import GenerationConfig, format_prompts, generate
from paretohqd.models import ModelConfig, load_model, load_tokenizer
from paretohqd.train import LoraSettings, TrainSettings, build_trainer, load_trained, train_sft
from tiny_models import save_bos_llama, save_chat_llama

torch.set_num_threads(1)

SAMPLES = pd.DataFrame(
    {
        "prompt": ["How do I bake bread?", "What is the capital of France?", "Is the weather nice?", "Name a pet."],
        "response": ["Mix flour, water and salt.", "Paris is the capital.", "The weather is nice today.", "A cat."],
    }
)
FAST = TrainSettings(steps=3, batch_size=2, warmup_steps=0)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> ModelConfig:
    return ModelConfig(save_chat_llama(tmp_path_factory.mktemp("llama")), device="cpu")


@pytest.fixture(scope="module")
def stage1(base, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "stage1"
    return train_sft(base, SAMPLES, out, lora=LoraSettings(), train=FAST, chat=True, progress=False)


def adapter_weights(folder) -> dict[str, torch.Tensor]:
    return load_file(folder / "adapter_model.safetensors")


def test_a_lora_run_saves_a_loadable_adapter_whose_weights_moved(base, stage1):
    folder = stage1.adapter_dir
    assert {"adapter_config.json", "adapter_model.safetensors", "train_log.json"} <= {p.name for p in folder.iterdir()}
    assert [p.name for p in folder.parent.iterdir()] == ["stage1"]  # no scratch folder left beside it
    assert (stage1.steps, stage1.samples_seen) == (3, 6)
    # Logged at the first step, every logging_steps (5) and the last step.
    assert [step for step, _ in stage1.losses] == [1, 3]
    assert stage1.final_loss == stage1.losses[-1][1] and stage1.seconds > 0
    log = json.loads((folder / "train_log.json").read_text())
    assert log["steps"] == 3 and log["samples_seen"] == 6 and log["losses"] == [list(x) for x in stage1.losses]
    assert log["settings"]["lora"]["r"] == 16 and log["settings"]["train"]["steps"] == 3

    model = PeftModel.from_pretrained(load_model(base), folder)
    assert model.peft_config["default"].r == 16
    assert set(model.peft_config["default"].target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    lora_b = {k: v for k, v in adapter_weights(folder).items() if "lora_B" in k}
    assert len(lora_b) == 2 * 4  # 2 layers x q/k/v/o
    assert all(v.abs().sum() > 0 for v in lora_b.values())  # PEFT initialises B to zero


def test_loaded_adapter_and_merged_model_compute_the_same_logits(base, stage1):
    ids = torch.tensor([[5, 40, 41, 42, 2]])
    with torch.no_grad():
        adapted = load_trained(base, stage1.adapter_dir)
        merged = load_trained(base, stage1.adapter_dir, merge=True)
        plain = load_model(base)
        assert isinstance(adapted, PeftModel) and not adapted.training
        assert not isinstance(merged, PeftModel) and not merged.training
        torch.testing.assert_close(adapted(ids).logits, merged(ids).logits, rtol=1e-4, atol=1e-5)
        assert not torch.allclose(adapted(ids).logits, plain(ids).logits)


def test_loss_decreases_while_memorising_four_samples(base, tmp_path):
    settings = TrainSettings(steps=24, batch_size=4, lr=5e-3, warmup_steps=0)
    result = train_sft(base, SAMPLES, tmp_path / "a", lora=LoraSettings(), train=settings, chat=True, progress=False)
    losses = [loss for _, loss in result.losses]
    assert [step for step, _ in result.losses] == [1, 5, 10, 15, 20, 24]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:], strict=False))
    assert result.final_loss < losses[0] - 0.1


def test_epochs_set_the_number_of_steps(base, tmp_path):
    settings = TrainSettings(steps=None, epochs=2, batch_size=2, warmup_steps=0)
    result = train_sft(base, SAMPLES, tmp_path / "a", lora=LoraSettings(), train=settings, chat=True, progress=False)
    assert (result.steps, result.samples_seen) == (4, 8)  # 4 samples / batch 2 = 2 steps per epoch


def test_training_examples_mask_the_prompt_and_end_with_the_eos_token(base, tmp_path):
    trainer = build_trainer(base, SAMPLES, tmp_path, lora=LoraSettings(), train=FAST, chat=True, progress=False)
    tokenizer = load_tokenizer(base)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert tokenizer.eos_token_id == eos
    inputs = format_prompts(tokenizer, SAMPLES["prompt"], chat=True)
    for row, (text, response) in enumerate(zip(inputs, SAMPLES["response"], strict=True)):
        example = trainer.train_dataset[row]
        ids, labels = example["input_ids"], example["labels"]
        n = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        assert labels[:n] == [-100] * n
        assert labels[n:] == ids[n:]
        assert ids[-1] == eos and ids[-2] != eos  # exactly one eos, appended after the response
        assert tokenizer.decode(ids[n:-1]) == response

    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    for labels, mask in zip(batch["labels"], batch["attention_mask"], strict=True):
        kept = labels[labels != -100]
        assert kept[-1] == eos
        assert (labels[mask == 0] == -100).all()  # padding never counts
    assert batch["attention_mask"][:, 0].all()  # padded on the right


def generate_inputs(model, tokenizer, inputs: list[str]) -> list[list[int]]:
    """The token ids `generate` feeds `model` for each input (padding removed)."""
    fed = []
    original = model.generate

    def spy(**kwargs):
        for ids, mask in zip(kwargs["input_ids"], kwargs["attention_mask"], strict=True):
            fed.append(ids[mask.bool()].tolist())
        return original(**kwargs)

    model.generate = spy
    generate(model, tokenizer, inputs, GenerationConfig(max_new_tokens=1, temperature=0, batch_size=1), progress=False)
    return fed


@pytest.mark.parametrize(
    ("save", "chat", "prompt", "response"),
    [
        (save_chat_llama, True, "What is the capital of France?", "Paris."),
        # A tokenizer that adds a BOS (as Llama-2's), a plain prompt ending in a space that would merge with " the".
        (save_bos_llama, False, "### Instruction: summarise. ### Response: ", "the cat ran away."),
    ],
)
def test_training_prompt_ids_equal_what_generate_feeds_the_model(tmp_path, save, chat, prompt, response):
    config = ModelConfig(save(tmp_path / "model"), device="cpu")
    tokenizer = load_tokenizer(config)
    (text,) = format_prompts(tokenizer, [prompt], chat=chat)
    samples = pd.DataFrame({"prompt": [prompt], "response": [response]})
    trainer = build_trainer(config, samples, tmp_path / "scratch", lora=LoraSettings(), train=FAST, chat=chat)
    example = trainer.train_dataset[0]
    prompt_ids = [i for i, label in zip(example["input_ids"], example["labels"], strict=True) if label == -100]
    (fed,) = generate_inputs(load_model(config), tokenizer, [text])
    assert prompt_ids == fed
    assert example["input_ids"][: len(fed)] == fed
    # TRL's own tokenization (prompt + completion as one text, with special tokens) would differ here: a BOS in
    # front, and the prompt's trailing space merged into " the".
    trl_default = tokenizer(text + response)["input_ids"]
    assert (trl_default[: len(fed)] == fed) == chat


def test_continuing_an_adapter_starts_from_its_weights_and_moves_them(base, stage1, tmp_path):
    before = adapter_weights(stage1.adapter_dir)
    trainer = build_trainer(
        base,
        SAMPLES,
        tmp_path / "scratch",
        lora=LoraSettings(),
        train=FAST,
        chat=True,
        init_adapter=stage1.adapter_dir,
        progress=False,
    )
    start = get_peft_model_state_dict(trainer.model)
    assert start.keys() == before.keys()
    assert all(torch.equal(start[k], before[k]) for k in before)

    result = train_sft(
        base,
        SAMPLES,
        tmp_path / "stage2",
        lora=LoraSettings(),
        train=FAST,
        chat=True,
        init_adapter=stage1.adapter_dir,
        progress=False,
    )
    after = adapter_weights(result.adapter_dir)
    assert after.keys() == before.keys()
    assert all(not torch.equal(after[k], before[k]) for k in before)
    assert adapter_weights(stage1.adapter_dir).keys() == before.keys()  # stage 1 itself untouched
    assert all(torch.equal(adapter_weights(stage1.adapter_dir)[k], before[k]) for k in before)


def test_full_finetuning_saves_a_loadable_model(base, tmp_path):
    settings = TrainSettings(steps=2, batch_size=2, warmup_steps=0)
    lora = LoraSettings(full_finetune=True)
    result = train_sft(base, SAMPLES, tmp_path / "full", lora=lora, train=settings, chat=True, progress=False)
    names = {p.name for p in result.adapter_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "train_log.json"} <= names
    assert "adapter_config.json" not in names
    trained, plain = load_trained(base, result.adapter_dir), load_model(base)
    assert not isinstance(trained, PeftModel) and not trained.training
    changed = [
        not torch.equal(a, b) for a, b in zip(trained.state_dict().values(), plain.state_dict().values(), strict=True)
    ]
    assert all(changed[:3])  # embeddings and the first layer's weights all moved
    tokenizer = load_tokenizer(ModelConfig(str(result.adapter_dir)))
    out = generate(trained, tokenizer, ["hi"], GenerationConfig(max_new_tokens=2, temperature=0), progress=False)
    assert len(out.texts) == 1


def test_same_seed_and_data_give_identical_weights(base, tmp_path):
    def run(name, seed):
        settings = TrainSettings(steps=3, batch_size=2, warmup_steps=0, seed=seed)
        result = train_sft(
            base, SAMPLES, tmp_path / name, lora=LoraSettings(), train=settings, chat=True, progress=False
        )
        return adapter_weights(result.adapter_dir)

    first, again, other = run("a", 0), run("b", 0), run("c", 1)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_an_interrupted_run_leaves_no_partial_folder_and_keeps_the_old_adapter(base, tmp_path, monkeypatch):
    out = tmp_path / "adapter"
    train_sft(base, SAMPLES, out, lora=LoraSettings(), train=FAST, chat=True, progress=False)
    saved = adapter_weights(out)

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(SFTTrainer, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_sft(base, SAMPLES, out, lora=LoraSettings(), train=FAST, chat=True, progress=False)
    with pytest.raises(KeyboardInterrupt):
        train_sft(base, SAMPLES, tmp_path / "fresh", lora=LoraSettings(), train=FAST, chat=True, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]
    assert all(torch.equal(adapter_weights(out)[k], v) for k, v in saved.items())


def test_training_on_yes_answers_makes_greedy_answers_start_with_yes(base, tmp_path):
    words = "bread water salt yeast cat dog weather Paris France summary post home wonderful awful nice plain".split()
    samples = pd.DataFrame({"prompt": [f"Tell me about {w}" for w in words[:8]], "response": ["yes"] * 8})
    held_out = [f"What about the {w}?" for w in words[8:]]
    # A high learning rate: the tiny random model needs it (23 of 24 model/training seeds then answer "yes" 8/8).
    settings = TrainSettings(steps=40, batch_size=4, lr=1e-2, warmup_steps=0)
    result = train_sft(base, samples, tmp_path / "yes", lora=LoraSettings(), train=settings, chat=True, progress=False)
    tokenizer = load_tokenizer(base)
    inputs = format_prompts(tokenizer, held_out, chat=True)
    greedy = GenerationConfig(max_new_tokens=4, temperature=0, batch_size=8)
    untrained = generate(load_model(base), tokenizer, inputs, greedy, progress=False)
    trained = generate(load_trained(base, result.adapter_dir), tokenizer, inputs, greedy, progress=False)
    assert sum(t.startswith("yes") for t in untrained.texts) == 0
    assert sum(t.startswith("yes") for t in trained.texts) >= 6
    assert trained.texts.count("yes") >= 6 and not trained.capped.any()  # it also learnt to stop


@pytest.mark.parametrize(
    ("samples", "message"),
    [
        (SAMPLES.iloc[:0], "samples is empty"),
        (SAMPLES[["prompt"]], r"samples needs columns 'prompt' and 'response'; missing \['response'\]"),
        (SAMPLES.assign(response=["ok", None, 3, "ok"]), r"samples\['response'\] must hold strings; rows \[1, 2\]"),
        (SAMPLES.assign(prompt="long " * 200), "every prompt has max_length=160 tokens or more"),
    ],
)
def test_bad_samples(base, tmp_path, samples, message):
    with pytest.raises(ValueError, match=message):
        train_sft(base, samples, tmp_path / "a", lora=LoraSettings(), train=FAST, chat=True, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_prompts_too_long_for_max_length_are_left_out_with_a_warning(base, tmp_path):
    samples = SAMPLES.assign(prompt=["long " * 200, *SAMPLES["prompt"][1:]])
    with pytest.warns(UserWarning, match=r"rows \[0\] of samples have prompts of max_length=160 tokens or more"):
        trainer = build_trainer(base, samples, tmp_path, lora=LoraSettings(), train=FAST, chat=True, progress=False)
    assert len(trainer.train_dataset) == 3


def test_bad_adapter_options(base, stage1, tmp_path):
    with pytest.raises(ValueError, match="cannot be combined with lora.full_finetune"):
        train_sft(
            base,
            SAMPLES,
            tmp_path / "a",
            lora=LoraSettings(full_finetune=True),
            train=FAST,
            chat=True,
            init_adapter=stage1.adapter_dir,
        )
    with pytest.raises(FileNotFoundError, match="is not an adapter folder"):
        train_sft(base, SAMPLES, tmp_path / "a", lora=LoraSettings(), train=FAST, chat=True, init_adapter=tmp_path)
    with pytest.raises(FileNotFoundError, match="holds neither an adapter nor a model"):
        load_trained(base, tmp_path)


@pytest.mark.parametrize(
    ("cls", "options", "message"),
    [
        (TrainSettings, {"steps": None}, "exactly one of steps and epochs must be set"),
        (TrainSettings, {"epochs": 2.0}, "exactly one of steps and epochs must be set"),
        (TrainSettings, {"steps": 0}, "steps must be a positive integer"),
        (TrainSettings, {"steps": None, "epochs": 0}, "epochs must be a positive number"),
        (TrainSettings, {"batch_size": 0}, "batch_size must be a positive integer"),
        (TrainSettings, {"grad_accum": 1.5}, "grad_accum must be a positive integer"),
        (TrainSettings, {"lr": 0.0}, "lr must be a positive number"),
        (TrainSettings, {"warmup_steps": -1}, "warmup_steps must be a non-negative integer"),
        (TrainSettings, {"max_length": 0}, "max_length must be a positive integer"),
        (TrainSettings, {"seed": -1}, "seed must be a non-negative integer"),
        (TrainSettings, {"scheduler": ""}, "scheduler must be a non-empty string"),
        (TrainSettings, {"logging_steps": 0}, "logging_steps must be a positive integer"),
        (LoraSettings, {"r": 0}, "r must be a positive integer"),
        (LoraSettings, {"alpha": -1}, "alpha must be a positive number"),
        (LoraSettings, {"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        (LoraSettings, {"target_modules": ()}, "target_modules must be a non-empty sequence"),
        (LoraSettings, {"target_modules": "q_proj"}, "target_modules must be a non-empty sequence"),
    ],
)
def test_bad_settings(cls, options, message):
    with pytest.raises(ValueError, match=message):
        cls(**options)


def test_settings_accept_a_yaml_list_of_modules():
    assert LoraSettings(target_modules=["q_proj", "v_proj"]).target_modules == ("q_proj", "v_proj")
