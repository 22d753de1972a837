"""Sequence-classification reward models (`transformers.AutoModelForSequenceClassification`) and their input formats.

The paper's reward models each expect their own input. `input_format` names what the tokenizer receives for a sample,
where "prompt" is the prompt after `prompt_pattern` (if any) extracted the part the model reads:

- "pair":                 tokenizer(prompt, response), a text pair joined by the tokenizer's own pair template
                          (GPT-2 tokenizers have none: the two token sequences are simply concatenated);
- "concat":               tokenizer(prompt + separator + response);
- "response":             tokenizer(response);
- "response_bos_prompt":  tokenizer(response + " " + bos_token + " " + prompt);
- "response_prompt_pair": tokenizer(text=response, text_pair=prompt).

The score is the logit at `label_index`, or the single logit of a 1-label model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from paretohqd.checks import check_positive_int, describe_rows
from paretohqd.devices import resolve_device, resolve_dtype
from paretohqd.rewards._torch import padded_batches
from paretohqd.rewards.base import Reward, check_texts

INPUT_FORMATS = ("pair", "concat", "response", "response_bos_prompt", "response_prompt_pair")

# The post inside the reddit-summary prompt "### Instruction: ... ### Input: {post} ### Response: ".
TLDR_POST_PATTERN = r"(?s)### Input:(.*)### Response:"


@dataclass(frozen=True)
class HFRewardConfig:
    """A sequence-classification reward model (hub id or local folder) and how to feed it.

    model: hub id or local directory holding the model and its tokenizer.
    input_format: one of INPUT_FORMATS (see the module docstring).
    label_index: which logit is the reward; None for a 1-label model (required when the model has several labels).
    prompt_pattern: regex whose first group is the part of the prompt the model reads (stripped of surrounding
        whitespace), e.g. the post inside an instruction template; None, or a prompt it does not match: the whole
        prompt.
    separator: what joins prompt and response in the "concat" format.
    name: the reward's name (default: `model`).
    max_length: token limit per sample; the effective limit is also capped by the tokenizer's and the model's.
    batch_size: samples per forward pass.
    device: "cpu", "cuda", "cuda:1", ...; None picks cuda when available.
    dtype: "float32", "bfloat16", "float16" or "auto" (the checkpoint's).
    trust_remote_code: run code shipped with the model; off unless asked for.
    progress: show a progress bar on a terminal for long inputs.
    sort_by_length: batch rows of similar token length together (less padding); False keeps input order.
    """

    model: str
    input_format: str = "pair"
    label_index: int | None = None
    prompt_pattern: str | None = None
    separator: str = " "
    name: str | None = None
    max_length: int = 1024
    batch_size: int = 8
    device: str | None = None
    dtype: str = "float32"
    trust_remote_code: bool = False
    progress: bool = True
    sort_by_length: bool = True


# The paper's reward models, with the input formats of the Rewards-in-Context code (github.com/YangRui2015/RiC,
# ric/multi_reward_models.py), whose evaluation protocol the paper follows. harmless/helpful take the dialogue
# (ending in "\n\nAssistant:") and the response as a text pair, as on their model cards: `rm_tokenizer(q, a)`.
HF_PRESETS: dict[str, HFRewardConfig] = {
    "harmless": HFRewardConfig("Ray2333/gpt2-large-harmless-reward_model", input_format="pair", name="harmless"),
    "helpful": HFRewardConfig("Ray2333/gpt2-large-helpful-reward_model", input_format="pair", name="helpful"),
    "humor": HFRewardConfig("mohameddhiab/humor-no-humor", input_format="response", label_index=1, name="humor"),
    "summary": HFRewardConfig(
        "Tristan/gpt2_reward_summarization",
        input_format="response_bos_prompt",
        prompt_pattern=TLDR_POST_PATTERN,
        name="summary",
    ),
    "faithful": HFRewardConfig(
        "CogComp/bart-faithful-summary-detector",
        input_format="response_prompt_pair",
        label_index=1,
        prompt_pattern=TLDR_POST_PATTERN,
        name="faithful",
    ),
}


def check_hf_config(config: HFRewardConfig) -> HFRewardConfig:
    """Validate the options that do not need the model; return `config`."""
    if not isinstance(config, HFRewardConfig):
        raise TypeError(f"config must be an HFRewardConfig; got {type(config).__name__}")
    if config.input_format not in INPUT_FORMATS:
        raise ValueError(f"input_format must be one of {', '.join(INPUT_FORMATS)}; got {config.input_format!r}")
    check_positive_int(config.max_length, "max_length")
    check_positive_int(config.batch_size, "batch_size")
    if config.prompt_pattern is not None:
        try:
            groups = re.compile(config.prompt_pattern).groups
        except re.error as exc:
            raise ValueError(f"prompt_pattern {config.prompt_pattern!r} is not a valid regex: {exc}") from exc
        if groups < 1:
            raise ValueError(
                f"prompt_pattern needs a group capturing what the model reads; got {config.prompt_pattern!r}"
            )
    return config


class HFRewardModel(Reward):
    """A transformers sequence classifier scoring (prompt, response) pairs in one of the INPUT_FORMATS.

    Batches are formed by token length (longest first) and padded on the right; results come back in input order.
    A tokenizer without a pad token (GPT-2) pads with its eos token, and the model's `config.pad_token_id` is set to
    match, so that the classifier reads the last real token of each row rather than a padding position.
    """

    def __init__(self, config: HFRewardConfig):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.config = check_hf_config(config)
        self.name = config.name or config.model
        self.device = resolve_device(config.device)
        self.tokenizer = AutoTokenizer.from_pretrained(config.model, trust_remote_code=config.trust_remote_code)
        model = AutoModelForSequenceClassification.from_pretrained(
            config.model, dtype=resolve_dtype(config.dtype), trust_remote_code=config.trust_remote_code
        )
        self.model = model.to(self.device).eval()
        self.label_index = self._check_label_index(config.label_index, model.config.num_labels)
        self._set_padding()
        if config.input_format == "response_bos_prompt" and self.tokenizer.bos_token is None:
            raise ValueError(f"reward '{self.name}': input_format 'response_bos_prompt' needs a tokenizer bos token")
        limits = [config.max_length, self.tokenizer.model_max_length]
        limits.append(getattr(model.config, "max_position_embeddings", None) or config.max_length)
        self.max_length = int(min(limits))
        self._pattern = re.compile(config.prompt_pattern) if config.prompt_pattern is not None else None

    def _check_label_index(self, label_index: int | None, num_labels: int) -> int:
        if label_index is None:
            if num_labels != 1:
                raise ValueError(
                    f"reward '{self.name}': the model has {num_labels} labels; set label_index to the logit to use "
                    f"(0..{num_labels - 1})"
                )
            return 0
        if isinstance(label_index, bool) or not isinstance(label_index, int) or not 0 <= label_index < num_labels:
            raise ValueError(
                f"reward '{self.name}': label_index must be an integer in 0..{num_labels - 1} for a model with "
                f"{num_labels} label(s); got {label_index!r}"
            )
        return label_index

    def _set_padding(self) -> None:
        tokenizer, model_config = self.tokenizer, self.model.config
        if tokenizer.pad_token is None:
            if tokenizer.eos_token is None:
                raise ValueError(f"reward '{self.name}': the tokenizer has neither a pad nor an eos token to pad with")
            tokenizer.pad_token = tokenizer.eos_token
        if model_config.pad_token_id is None:
            model_config.pad_token_id = tokenizer.pad_token_id
        # Right padding keeps absolute positions of every row equal to those of an unpadded run.
        tokenizer.padding_side = "right"

    def _context(self, prompt: str) -> str:
        match = self._pattern.search(prompt) if self._pattern is not None else None
        return match.group(1).strip() if match is not None else prompt

    def texts(self, prompts, responses) -> tuple[list[str], list[str] | None]:
        """What the tokenizer receives: (texts, text_pairs), N strings each; text_pairs is None for single texts."""
        prompts, responses = check_texts(prompts, responses)
        contexts = [self._context(prompt) for prompt in prompts]
        fmt = self.config.input_format
        if fmt == "pair":
            return contexts, responses
        if fmt == "concat":
            return [c + self.config.separator + r for c, r in zip(contexts, responses, strict=True)], None
        if fmt == "response":
            return responses, None
        if fmt == "response_bos_prompt":
            bos = self.tokenizer.bos_token
            return [f"{r} {bos} {c}" for c, r in zip(contexts, responses, strict=True)], None
        return responses, contexts

    def _score(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        import torch

        texts, pairs = self.texts(prompts, responses)
        encodings = self.tokenizer(texts, pairs, truncation=True, max_length=self.max_length)
        empty = [i for i, ids in enumerate(encodings["input_ids"]) if not ids]
        if empty:
            raise ValueError(
                f"reward '{self.name}': {describe_rows(empty)} have no tokens in input format "
                f"'{self.config.input_format}' (empty text); drop empty responses before scoring"
            )
        scores = np.empty(len(texts))
        batches = padded_batches(
            self.tokenizer,
            encodings,
            self.config.batch_size,
            self.device,
            desc=self.name,
            show_progress=self.config.progress,
            sort_by_length=self.config.sort_by_length,
        )
        with torch.inference_mode():
            for rows, batch in batches:
                logits = self.model(**batch).logits
                scores[rows] = logits[:, self.label_index].float().cpu().numpy()
        return scores


def hf_preset(preset: str, **overrides) -> HFRewardModel:
    """Load one of HF_PRESETS, with any HFRewardConfig field overridden (e.g. device="cuda", model=a local copy)."""
    if preset not in HF_PRESETS:
        raise ValueError(f"unknown reward-model preset {preset!r}; known: {', '.join(sorted(HF_PRESETS))}")
    return HFRewardModel(replace(HF_PRESETS[preset], **overrides))
