import numpy as np
import pytest
import torch

from paretohqd.generate import GenerationConfig, format_prompts, generate
from paretohqd.models import ModelConfig, load_model, load_tokenizer
from tiny_models import save_chat_llama

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory):
    path = save_chat_llama(tmp_path_factory.mktemp("llama"))
    config = ModelConfig(path, device="cpu")
    return load_model(config), load_tokenizer(config)


def test_chat_prompts_use_the_template_with_a_generation_prompt(chat_model):
    _, tokenizer = chat_model
    (text,) = format_prompts(tokenizer, ["Hi there"], chat=True, system="Be brief.")
    assert (
        text == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n"
    )
    assert format_prompts(tokenizer, ["raw"], chat=False) == ["raw"]


def test_generation_is_seeded_in_input_order_and_counts_tokens(chat_model):
    model, tokenizer = chat_model
    inputs = format_prompts(tokenizer, ["short", "a much longer prompt about bread and water", "mid length"], chat=True)
    config = GenerationConfig(max_new_tokens=8, temperature=1.0, top_p=0.9, batch_size=2, seed=3)
    first = generate(model, tokenizer, inputs, config, progress=False)
    second = generate(model, tokenizer, inputs, config, progress=False)
    assert first.texts == second.texts
    assert first.new_tokens.shape == (3,) and (first.new_tokens <= 8).all()
    assert np.array_equal(first.capped, first.new_tokens == 8)
    assert first.tokens_per_second > 0
    # Row order follows the inputs: generating a row alone (greedy) gives the same text as inside the batch.
    greedy = GenerationConfig(max_new_tokens=6, temperature=0, batch_size=3)
    batched = generate(model, tokenizer, inputs, greedy, progress=False).texts
    alone = [generate(model, tokenizer, [x], greedy, progress=False).texts[0] for x in inputs]
    assert batched == alone


def test_generation_needs_left_padding(chat_model):
    model, _ = chat_model
    tokenizer = load_tokenizer(ModelConfig(model.name_or_path), padding_side="right")
    with pytest.raises(ValueError, match="padding_side='left'"):
        generate(model, tokenizer, ["x"], GenerationConfig(), progress=False)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens must be a positive integer"),
        ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
        ({"temperature": -1.0}, "temperature must be >= 0"),
    ],
)
def test_bad_generation_settings(options, message):
    with pytest.raises(ValueError, match=message):
        GenerationConfig(**options)
