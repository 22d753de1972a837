"""Supervised fine-tuning of one model (one preference) with TRL's SFTTrainer: a LoRA adapter (PEFT) or full weights.

A sample is a (prompt, response) pair. The model input is the prompt exactly as generation builds it: the text of
`format_prompts`, tokenized without added special tokens (the chat template already holds them), as `generate` does.
We tokenize the samples ourselves because TRL tokenizes a prompt/completion pair as one text with the tokenizer's
special tokens: a tokenizer that adds a BOS (Llama-2) would then train on an input generation never shows, and a
prompt ending in a space ("### Response: ") would merge with the response's first word. The response is tokenized on
its own and the end-of-sequence token is appended, so the model learns to stop; the loss covers only those tokens
(TRL's completion-only loss).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from paretohqd import distributed
from paretohqd.checks import check_positive_int, describe_rows
from paretohqd.models import ModelConfig

_SAMPLE_COLUMNS = ("prompt", "response")
TRAIN_LOG = "train_log.json"


@dataclass(frozen=True)
class LoraSettings:
    """LoRA adapter shape (DESIGN.md §7's CPU recipe; the paper's is r=64, alpha=128).

    target_modules: names of the linear layers that get an adapter. full_finetune: train and save every weight
    instead of an adapter (the other fields are then unused).
    """

    r: int = 16
    alpha: float = 32.0
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    full_finetune: bool = False

    def __post_init__(self):
        check_positive_int(self.r, "r")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, int | float) or not self.alpha > 0:
            raise ValueError(f"alpha must be a positive number; got {self.alpha!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, int | float) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1); got {self.dropout!r}")
        modules = self.target_modules
        if isinstance(modules, str) or not modules or not all(isinstance(m, str) and m for m in modules):
            raise ValueError(f"target_modules must be a non-empty sequence of module names; got {modules!r}")
        object.__setattr__(self, "target_modules", tuple(modules))  # a YAML list becomes a tuple

    def peft_config(self):
        """PEFT's LoraConfig for a causal LM with this shape."""
        from peft import LoraConfig

        return LoraConfig(
            r=self.r,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=list(self.target_modules),
            bias="none",
            task_type="CAUSAL_LM",
        )


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings (DESIGN.md §7's CPU recipe; the paper's: lr 1.41e-4, max_length 512, no warm-up).

    Exactly one of `steps` (optimizer steps) and `epochs` (passes over the samples, may be fractional) is set.
    A step sees batch_size * grad_accum samples in each process (N times as many under `accelerate launch` with N
    processes, as in transformers). max_length: token limit of prompt + response (longer samples are cut at the end;
    a sample whose prompt alone fills it is left out, with a warning). scheduler: a transformers learning-rate
    schedule name. report_to: a transformers logging integration ("none", "tensorboard", ...).
    logging_steps: record the mean training loss every this many steps.
    """

    steps: int | None = 30
    epochs: float | None = None
    batch_size: int = 4
    grad_accum: int = 1
    lr: float = 4e-4
    scheduler: str = "linear"
    warmup_steps: int = 3
    max_length: int = 160
    seed: int = 0
    report_to: str = "none"
    logging_steps: int = 5

    def __post_init__(self):
        if (self.steps is None) == (self.epochs is None):
            raise ValueError(
                f"exactly one of steps and epochs must be set (the other null); got steps={self.steps!r}, "
                f"epochs={self.epochs!r}"
            )
        if self.steps is not None:
            check_positive_int(self.steps, "steps")
        elif isinstance(self.epochs, bool) or not isinstance(self.epochs, int | float) or not self.epochs > 0:
            raise ValueError(f"epochs must be a positive number; got {self.epochs!r}")
        for name in ("batch_size", "grad_accum", "max_length", "logging_steps"):
            check_positive_int(getattr(self, name), name)
        if isinstance(self.lr, bool) or not isinstance(self.lr, int | float) or not self.lr > 0:
            raise ValueError(f"lr must be a positive number; got {self.lr!r}")
        for name in ("warmup_steps", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
        for name in ("scheduler", "report_to"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string; got {getattr(self, name)!r}")


@dataclass
class TrainResult:
    """adapter_dir: the saved adapter (or full model) folder; steps: optimizer steps taken; samples_seen: steps *
    batch_size * grad_accum * processes; final_loss: mean training loss of the last logging window; losses: (step,
    mean loss since the previous entry), logged at step 1, every logging_steps and at the last step; seconds: wall
    time of the call."""

    adapter_dir: Path
    steps: int
    samples_seen: int
    final_loss: float
    losses: list[tuple[int, float]]
    seconds: float


def check_samples(samples) -> tuple[list[str], list[str]]:
    """The prompts and responses of a DataFrame with string columns "prompt" and "response" (N rows, N >= 1)."""
    missing = [c for c in _SAMPLE_COLUMNS if c not in getattr(samples, "columns", ())]
    if missing:
        raise ValueError(f"samples needs columns 'prompt' and 'response'; missing {missing}")
    if len(samples) == 0:
        raise ValueError("samples is empty: nothing to train on")
    columns = []
    for name in _SAMPLE_COLUMNS:
        values = samples[name].tolist()
        bad = [i for i, v in enumerate(values) if not isinstance(v, str)]
        if bad:
            raise ValueError(f"samples[{name!r}] must hold strings; {describe_rows(bad)} do not")
        columns.append(values)
    return columns[0], columns[1]


def prompt_token_ids(tokenizer, inputs: list[str], max_length: int, what: str) -> tuple[int, list, list[int]]:
    """The eos id, every input's token ids (as `generate` feeds them: no added special tokens) and the indices of
    the inputs that leave room for a response within max_length; the others are reported in a warning."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("the tokenizer has no eos token: the model could not learn to stop")
    prompt_ids = tokenizer(inputs, add_special_tokens=False)["input_ids"]
    too_long = [i for i, ids in enumerate(prompt_ids) if len(ids) >= max_length]
    if len(too_long) == len(inputs):
        raise ValueError(f"every prompt has max_length={max_length} tokens or more: nothing to train on")
    if too_long:
        warnings.warn(
            f"{describe_rows(too_long)} of {what} have prompts of max_length={max_length} tokens or more and are "
            "left out of training",
            stacklevel=4,
        )
    return eos, prompt_ids, sorted(set(range(len(inputs))) - set(too_long))


def tokenize_samples(tokenizer, inputs: list[str], responses: list[str], max_length: int):
    """A `datasets.Dataset` of N rows (input_ids, completion_mask) for SFTTrainer; rows whose input alone fills
    max_length (no response token would remain) are left out with a warning.

    input_ids = the input's ids as `generate` feeds them, then the response's ids and the eos id; completion_mask marks
    the response and eos tokens (1) that the loss covers.
    """
    from datasets import Dataset

    eos, prompt_ids, keep = prompt_token_ids(tokenizer, inputs, max_length, "samples")
    response_ids = tokenizer(responses, add_special_tokens=False)["input_ids"]
    input_ids = [prompt_ids[i] + response_ids[i] + [eos] for i in keep]
    masks = [[0] * len(prompt_ids[i]) + [1] * (len(response_ids[i]) + 1) for i in keep]
    return Dataset.from_dict({"input_ids": input_ids, "completion_mask": masks})


def _sft_config(output_dir: Path, train: TrainSettings, device: str, progress: bool):
    from trl import SFTConfig

    on_cpu = device == "cpu"
    length = {"max_steps": train.steps} if train.steps is not None else {"num_train_epochs": float(train.epochs)}
    return SFTConfig(
        output_dir=str(output_dir),
        **length,
        **settings_args(train),
        disable_tqdm=not progress,
        completion_only_loss=True,
        **device_args(on_cpu),
    )


def settings_args(train: TrainSettings) -> dict:
    """Trainer arguments from our TrainSettings (length aside), shared by the SFT and DPO trainers. Nothing is saved
    by the trainer: we save once, atomically, at the end (`publish_trained`)."""
    return {
        "per_device_train_batch_size": train.batch_size,
        "gradient_accumulation_steps": train.grad_accum,
        "learning_rate": train.lr,
        "lr_scheduler_type": train.scheduler,
        "warmup_steps": train.warmup_steps,
        "max_length": train.max_length,
        "seed": train.seed,
        "data_seed": train.seed,
        "report_to": train.report_to,
        "logging_steps": train.logging_steps,
        "logging_first_step": True,
        "save_strategy": "no",
    }


def device_args(on_cpu: bool) -> dict:
    """Trainer arguments that depend on the device, shared by every TRL trainer we build. TRL turns checkpointing
    and bf16 on by default: checkpointing only slows small models down, and bf16 autocast is slow or unsupported on
    CPUs. Under DDP, every trainable (LoRA) weight takes part in each forward pass, so DDP need not walk the graph
    after each step looking for unused ones."""
    import torch

    return {
        "activation_checkpointing": False,
        "bf16": not on_cpu and torch.cuda.is_bf16_supported(),
        "fp16": False,
        "use_cpu": on_cpu,
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": not on_cpu,
        "ddp_find_unused_parameters": False,
    }


def build_trainer(
    model: ModelConfig,
    samples,
    output_dir: str | Path,
    *,
    lora: LoraSettings,
    train: TrainSettings,
    chat: bool,
    init_adapter: str | Path | None = None,
    progress: bool = True,
):
    """An SFTTrainer, ready to `train()`, for `samples` (DataFrame with prompt/response columns) on `model`.

    A new LoRA adapter (lora), full weights (lora.full_finetune), or the existing adapter folder `init_adapter`
    trained further (its own LoRA shape wins over `lora`'s). output_dir: TRL's scratch folder (nothing is saved).
    """
    from transformers import set_seed
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTTrainer

    from paretohqd.devices import resolve_device
    from paretohqd.generate import format_prompts
    from paretohqd.models import load_model, load_tokenizer

    prompts, responses = check_samples(samples)
    if init_adapter is not None:
        if lora.full_finetune:
            raise ValueError("init_adapter continues a LoRA adapter; it cannot be combined with lora.full_finetune")
        if not (Path(init_adapter) / "adapter_config.json").is_file():
            raise FileNotFoundError(
                f"init_adapter {str(init_adapter)!r} is not an adapter folder (no adapter_config.json)"
            )
    # Seed before the adapter is created: its random init must not depend on what ran earlier in the process, so a
    # resumed run trains the same adapters, and models trained with one seed share their init (Rewarded Soups).
    set_seed(train.seed)
    args = _sft_config(Path(output_dir), train, resolve_device(model.device), progress)
    tokenizer = load_tokenizer(model, padding_side="right")
    dataset = tokenize_samples(tokenizer, format_prompts(tokenizer, prompts, chat=chat), responses, train.max_length)
    base = load_model(model)
    peft_config = None
    if init_adapter is not None:
        from peft import PeftModel

        base = PeftModel.from_pretrained(base, str(init_adapter), is_trainable=True)
    elif not lora.full_finetune:
        peft_config = lora.peft_config()
    with _quiet_datasets(not progress):
        trainer = SFTTrainer(
            model=base, args=args, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config
        )
    if not progress:
        trainer.remove_callback(PrinterCallback)  # prints every log line when the progress bar is off
    trainer.add_callback(_log_last_step())
    return trainer


def train_sft(
    model: ModelConfig,
    samples,
    out_dir: str | Path,
    *,
    lora: LoraSettings,
    train: TrainSettings,
    chat: bool,
    init_adapter: str | Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """Fine-tune `model` on `samples` (DataFrame with prompt/response columns) and save the adapter (or the full
    model and its tokenizer) with a `train_log.json` into `out_dir`, replacing what was there.

    chat: the prompts go through the tokenizer's chat template, as in generation. init_adapter: an adapter folder to
    train further (ParetoHqD stage 2 continues the stage-1 adapter). The folder appears complete or not at all: it is
    written next to `out_dir` and renamed into place. Under `accelerate launch` every process calls this and trains
    (`publish_trained`).
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = scratch_folder(out_dir, "partial")
    try:
        trainer = build_trainer(
            model,
            samples,
            staging / "trainer",
            lora=lora,
            train=train,
            chat=chat,
            init_adapter=init_adapter,
            progress=progress,
        )
        with warnings.catch_warnings():
            # transformers 5.24 warns on every step that TRL reads a renamed attribute; nothing for us to act on.
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            trainer.train()
        settings = {
            "model": asdict(model),
            "lora": asdict(lora),
            "train": asdict(train),
            "chat": chat,
            "init_adapter": None if init_adapter is None else str(init_adapter),
        }
        result = finish_training(trainer, staging, out_dir, start, train, settings, tokenizer=lora.full_finetune)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def load_trained(model: ModelConfig, adapter_dir: str | Path, merge: bool = False):
    """`model` with the adapter of `adapter_dir` applied (a PeftModel, or merged into plain weights with `merge`), in
    eval mode on its device; a full fine-tuned folder is loaded as it is. Ready for `paretohqd.generate.generate`."""
    from paretohqd.models import load_model

    adapter_dir = Path(adapter_dir)
    if (adapter_dir / "adapter_config.json").is_file():
        from peft import PeftModel

        trained = PeftModel.from_pretrained(load_model(model), str(adapter_dir))
        return (trained.merge_and_unload() if merge else trained).eval()
    if (adapter_dir / "config.json").is_file():
        return load_model(replace(model, name_or_path=str(adapter_dir)))
    raise FileNotFoundError(f"{str(adapter_dir)!r} holds neither an adapter nor a model")


def finish_training(
    trainer, staging: Path, out_dir: Path, start: float, train: TrainSettings, settings: dict, *, tokenizer=False
) -> TrainResult:
    """After `trainer.train()`: drop the trainer's scratch output, publish the model with a train_log.json holding
    the losses and `settings` (`publish_trained`), and return the TrainResult (samples seen by every process)."""
    shutil.rmtree(staging / "trainer", ignore_errors=True)
    steps = trainer.state.global_step
    losses = [(int(e["step"]), float(e["loss"])) for e in trainer.state.log_history if "loss" in e]
    result = TrainResult(
        adapter_dir=out_dir,
        steps=steps,
        samples_seen=steps * train.batch_size * train.grad_accum * trainer.args.world_size,
        final_loss=losses[-1][1],  # the last step is always logged
        losses=losses,
        seconds=time.perf_counter() - start,
    )
    log = {
        "steps": result.steps,
        "samples_seen": result.samples_seen,
        "final_loss": result.final_loss,
        "losses": result.losses,
        "seconds": result.seconds,
        "samples": len(trainer.train_dataset),
        "settings": settings,
    }
    publish_trained(trainer, staging, out_dir, log, tokenizer=tokenizer)
    return result


def publish_trained(trainer, staging: Path, out_dir: Path, log: dict, *, tokenizer: bool = False) -> None:
    """Save `trainer`'s model (its adapter, or full weights), `log` as train_log.json and, with `tokenizer`, the
    tokenizer into the scratch folder `staging`, then rename it to `out_dir` (`publish_folder`).

    Under `accelerate launch` every process calls this after training: FSDP and DeepSpeed gather the weights sharded
    over the processes, the main process writes them, the others remove their own scratch folder."""
    sharded = trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled
    weights = trainer.accelerator.get_state_dict(trainer.model_wrapped) if sharded else None
    if not distributed.is_main():
        shutil.rmtree(staging, ignore_errors=True)
        return
    trainer.accelerator.unwrap_model(trainer.model).save_pretrained(staging, state_dict=weights)
    if tokenizer:
        trainer.processing_class.save_pretrained(staging)
    (staging / TRAIN_LOG).write_text(json.dumps(log, indent=2) + "\n")
    publish_folder(staging, out_dir)


def publish_folder(staging: Path, out_dir: Path) -> None:
    """Rename `staging` to `out_dir`; an existing `out_dir` is moved aside first and deleted after."""
    old = None
    if out_dir.exists():
        old = scratch_folder(out_dir, "old")
        os.replace(out_dir, old / out_dir.name)
    os.replace(staging, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def scratch_folder(out_dir: Path, kind: str) -> Path:
    """A fresh, empty hidden folder next to `out_dir`, named after it and this process."""
    path = out_dir.with_name(f".{out_dir.name}.{os.getpid()}.{kind}")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    return path


@contextlib.contextmanager
def _quiet_datasets(quiet: bool):
    """Hide the progress bars of `datasets` (SFTTrainer's dataset preparation) while inside, when `quiet`."""
    import datasets

    switch = quiet and not datasets.are_progress_bars_disabled()
    if switch:
        datasets.disable_progress_bars()
    try:
        yield
    finally:
        if switch:
            datasets.enable_progress_bars()


def _log_last_step():
    """A callback that logs the last step too, so that the final loss is always recorded."""
    from transformers import TrainerCallback

    class LogLastStep(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= state.max_steps:
                control.should_log = True

    return LogLastStep()
