"""Tiny random sequence classifiers with tokenizers trained in milliseconds, saved as local model folders.

Stand-ins for the hub reward models, shaped like them: a GPT-2 classifier whose tokenizer has no pad token and no pair
template (the Ray2333 and Tristan models), a BART classifier with a RoBERTa-style pair template (CogComp), and a
BERT classifier with token types (the humor model's family).
"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    BartConfig,
    BartForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
    GPT2Config,
    GPT2ForSequenceClassification,
    PreTrainedTokenizerFast,
)

CORPUS = [
    "Human: How do I bake bread at home? Assistant: Mix flour, water, salt and yeast, then bake it.",
    "Human: What is the capital of France? Assistant: Paris is the capital of France.",
    "### Instruction: Generate a one-sentence summary of this post. ### Input: My cat ran away. ### Response: ",
    "I love this, wonderful! This is awful. The weather is nice today and the dog sleeps.",
    "Summaries should be short, faithful to the post, and written in plain words.",
]


def bpe_tokenizer(special_tokens: list[str], **kwargs) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer (vocabulary 320) trained on CORPUS; `kwargs` name its special tokens etc."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=special_tokens, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    backend.train_from_iterator(CORPUS * 4, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=backend, **kwargs)


def save_gpt2_classifier(path, num_labels: int = 1, *, model_max_length: int | None = 128, seed: int = 0) -> str:
    """GPT-2 style: "<|endoftext|>" is bos = eos = unk, no pad token, pairs are plain concatenations, 256 positions.

    model_max_length None leaves the tokenizer without a length limit (a huge number), like many hub tokenizers.
    """
    limit = {} if model_max_length is None else {"model_max_length": model_max_length}
    tokenizer = bpe_tokenizer(
        ["<|endoftext|>"],
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        model_input_names=["input_ids", "attention_mask"],
        **limit,
    )
    eos = tokenizer.eos_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=256,
        n_embd=32,
        n_layer=2,
        n_head=2,
        num_labels=num_labels,
        bos_token_id=eos,
        eos_token_id=eos,
    )
    torch.manual_seed(seed)
    GPT2ForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def save_bart_classifier(path, num_labels: int = 2, *, seed: int = 0) -> str:
    """BART style: <s> A </s></s> B </s> pair template, a real pad token, 2 labels."""
    tokenizer = bpe_tokenizer(
        ["<s>", "<pad>", "</s>", "<unk>"],
        bos_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        model_input_names=["input_ids", "attention_mask"],
        model_max_length=128,
    )
    tokenizer.backend_tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=128,
        # Label names other than the defaults: BartConfig drops default ones when saving and reloads 3 labels.
        id2label={i: f"class{i}" for i in range(num_labels)},
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
    )
    torch.manual_seed(seed)
    BartForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def save_bert_classifier(path, num_labels: int = 2, *, seed: int = 0) -> str:
    """BERT style: [CLS] A [SEP] B [SEP] with token types 0 / 1, a real pad token."""
    tokenizer = bpe_tokenizer(
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]"],
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
        model_max_length=128,
    )
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=num_labels,
        pad_token_id=0,
    )
    torch.manual_seed(seed)
    BertForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def save_chat_llama(path, *, seed: int = 0) -> str:
    """A random Llama causal LM (hidden 32, 2 layers), ChatML tokenizer, eos = pad = "<|im_end|>" (as SmolLM2)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = bpe_tokenizer(
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
        model_max_length=256,
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def save_bos_llama(path, *, seed: int = 0) -> str:
    """`save_chat_llama`'s model with a tokenizer that puts its BOS ("<|im_start|>") before every text it encodes
    with special tokens, as Llama-2's tokenizer does with "<s>"."""
    from transformers import AutoTokenizer

    save_chat_llama(path, seed=seed)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{tokenizer.bos_token} $A",
        pair=f"{tokenizer.bos_token} $A $B",
        special_tokens=[(tokenizer.bos_token, tokenizer.bos_token_id)],
    )
    tokenizer.save_pretrained(path)
    return str(path)
