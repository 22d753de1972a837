"""Batched sampling from a causal LM: left-padded, length-sorted batches, seeded, with a progress bar and token rate."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from paretohqd.checks import check_positive_int


@dataclass(frozen=True)
class GenerationConfig:
    """Sampling settings. temperature 0 means greedy decoding."""

    max_new_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 0.9
    batch_size: int = 16
    seed: int = 0

    def __post_init__(self):
        check_positive_int(self.max_new_tokens, "max_new_tokens")
        check_positive_int(self.batch_size, "batch_size")
        if not self.temperature >= 0:
            raise ValueError(f"temperature must be >= 0; got {self.temperature!r}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1]; got {self.top_p!r}")


@dataclass(frozen=True)
class Generations:
    """texts: N decoded continuations (special tokens removed); new_tokens: (N,) tokens generated per row;
    capped: (N,) rows that stopped at max_new_tokens without an end-of-sequence token; seconds: wall time."""

    texts: list[str]
    new_tokens: np.ndarray
    capped: np.ndarray
    seconds: float

    @property
    def tokens_per_second(self) -> float:
        return float(self.new_tokens.sum() / self.seconds) if self.seconds > 0 else 0.0


def format_prompts(tokenizer, prompts: Sequence[str], chat: bool, system: str | None = None) -> list[str]:
    """Model inputs for N prompts: the tokenizer's chat template with a generation prompt, or the text as is."""
    if not chat:
        return list(prompts)
    if tokenizer.chat_template is None:
        raise ValueError("chat formatting was asked for, but the tokenizer has no chat template")
    head = [{"role": "system", "content": system}] if system is not None else []
    return [
        tokenizer.apply_chat_template(
            head + [{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True
        )
        for p in prompts
    ]


def generate(model, tokenizer, inputs: Sequence[str], config: GenerationConfig, progress: bool = True) -> Generations:
    """Sample one continuation per input (already formatted, see `format_prompts`), in input order.

    Inputs are batched by token length (longest first) and padded on the left; batch b is sampled after
    torch.manual_seed(config.seed + b), so a run is reproducible for the same inputs and batch size.
    """
    import torch

    if tokenizer.padding_side != "left":
        raise ValueError("batched generation needs a tokenizer with padding_side='left'")
    encodings = tokenizer(list(inputs), add_special_tokens=False)
    lengths = np.array([len(ids) for ids in encodings["input_ids"]])
    order = np.argsort(-lengths, kind="stable")
    texts: list[str] = [""] * len(inputs)
    new_tokens = np.zeros(len(inputs), dtype=np.int64)
    capped = np.zeros(len(inputs), dtype=bool)
    eos = tokenizer.eos_token_id
    sampling = (
        {"do_sample": False}
        if config.temperature == 0
        else {"do_sample": True, "temperature": config.temperature, "top_p": config.top_p, "top_k": 0}
    )
    start = time.perf_counter()
    batches = range(0, len(order), config.batch_size)
    bar = tqdm(batches, desc="generate", unit="batch", leave=False, disable=None if progress else True)
    for b, lo in enumerate(bar):
        rows = order[lo : lo + config.batch_size]
        batch = tokenizer.pad({"input_ids": [encodings["input_ids"][i] for i in rows]}, return_tensors="pt")
        batch = {k: v.to(model.device) for k, v in batch.items()}
        torch.manual_seed(config.seed + b)
        with torch.inference_mode():
            out = model.generate(
                **batch, max_new_tokens=config.max_new_tokens, pad_token_id=tokenizer.pad_token_id, **sampling
            )
        fresh = out[:, batch["input_ids"].shape[1] :].cpu()
        for row, ids in zip(rows, fresh, strict=True):
            ended = (ids == eos).nonzero()
            stop = int(ended[0, 0]) if len(ended) else ids.numel()
            new_tokens[row] = stop
            capped[row] = not len(ended) and stop >= config.max_new_tokens
            texts[row] = tokenizer.decode(ids[:stop], skip_special_tokens=True)
        bar.set_postfix(tok_s=f"{new_tokens.sum() / (time.perf_counter() - start):.0f}")
    return Generations(texts, new_tokens, capped, time.perf_counter() - start)
