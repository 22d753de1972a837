"""MODPO (Zhou et al., 2024, "Beyond One-Preference-Fits-All Alignment"): for each preference w, a LoRA adapter
trained with DPO on pairs ranked by one objective k (`modpo.dpo_objective`), with a margin from the other objectives'
rewards (the paper's Eq. 7):

    loss = -log sigmoid( (beta / w_k) * [(log pi(y_w|x) - log ref(y_w|x)) - (log pi(y_l|x) - log ref(y_l|x))]
                         - (1 / w_k) * w_-k . (r_-k(x, y_w) - r_-k(x, y_l)) )

Choices (DESIGN.md §3 gives only the idea):
- Pairs come from the scored pool: samples of one prompt, every two with different rewards on objective k, the
  higher one chosen (ties make no pair; see `preference_pairs`). A pool whose rows come in the dataset's own
  comparisons (a `row` column: hh-rlhf's and summarize_from_feedback's chosen/rejected halves) pairs only the two
  halves of each comparison, still oriented by objective k's reward: the human label mixes the objectives.
- The margin rewards r_-k are the pool's raw rewards divided by the pool's per-objective standard deviation, so that
  a weight means the same for objectives of any scale.
- w_k = 0 makes the loss undefined (it divides by w_k): w_k is floored at `modpo.min_weight` (0.01), where the loss
  is close to its limit, a hinge asking each pair's implicit reward gap beta * [...] to exceed its margin.
- The reference model is the base model (the adapter disabled): the paper's pi_sft; no SFT stage comes first.
- Training uses TRL's DPOTrainer with two overrides (`modpo_trainer`): `compute_loss` applies `modpo_loss` to the
  summed completion log-probabilities, each batch carrying its pairs' margins; `_prepare_dataset` keeps the pairs
  tokenized as SFT and generation tokenize them (the prompt text without added special tokens, the response on its
  own, then eos; see `paretohqd.train`), instead of TRL's tokenization of the concatenated text.

Units: pool, pairs, train-modpo/pref-XX. Outputs: modpo/pairs.parquet, adapters/modpo/pref-XX/.
"""

from __future__ import annotations

import functools
import shutil
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd

from paretohqd.executors import executor_for
from paretohqd.files import write_parquet_atomic
from paretohqd.methods import paretohqd
from paretohqd.methods.base import Policy
from paretohqd.models import ModelConfig
from paretohqd.pipeline import Context
from paretohqd.runs import Run
from paretohqd.train import LoraSettings, TrainSettings

PAIR_COLUMNS = ("prompt", "chosen", "rejected")


def modpo_loss(
    policy_chosen_logps,
    policy_rejected_logps,
    ref_chosen_logps,
    ref_rejected_logps,
    margins,
    beta: float,
    w_k: float,
):
    """(B,) MODPO losses of B pairs: -log sigmoid((beta * delta - margins) / w_k), where delta is the policy's log
    ratio to the reference on the chosen response minus that on the rejected one. Every argument but beta and w_k
    is a (B,) tensor: summed log-probabilities of the responses, and margins = w_-k . (r_-k(y_w) - r_-k(y_l)).
    With margins 0 and w_k = 1 this is DPO's sigmoid loss."""
    import torch.nn.functional as F

    if not beta > 0 or not w_k > 0:
        raise ValueError(f"beta and w_k must be positive; got beta={beta!r}, w_k={w_k!r}")
    delta = (policy_chosen_logps - ref_chosen_logps) - (policy_rejected_logps - ref_rejected_logps)
    return -F.logsigmoid((beta * delta - margins) / w_k)


def preference_pairs(
    frame: pd.DataFrame, objectives: Sequence[str], dpo_objective: int, *, max_pairs: int | None = None, seed: int = 0
) -> pd.DataFrame:
    """Preference pairs of a scored pool (N rows: prompt, response, one reward column per objective), ranked by
    objective `dpo_objective` (an index into `objectives`).

    Samples are grouped by prompt (and by `row` when the frame has that column, so that only the two halves of one
    dataset comparison pair up); within a group every two samples whose rewards on the DPO objective differ make one
    pair, the higher one chosen. Ties make no pair. With max_pairs, that many pairs are drawn (without replacement,
    with `seed`), kept in order. Returns P rows: prompt, chosen, rejected, then chosen_<objective> for every
    objective, then rejected_<objective> (the raw rewards of both responses).
    """
    objectives = list(objectives)
    if (
        isinstance(dpo_objective, bool)
        or not isinstance(dpo_objective, int)
        or not 0 <= dpo_objective < len(objectives)
    ):
        raise ValueError(f"dpo_objective={dpo_objective!r} must index one of the objectives {objectives}")
    missing = [c for c in ("prompt", "response", *objectives) if c not in frame.columns]
    if missing:
        raise ValueError(f"the pool has no column(s) {missing}; columns: {list(frame.columns)}")
    ranked = frame[objectives[dpo_objective]].to_numpy(dtype=np.float64)
    keys = ["prompt", "row"] if "row" in frame.columns else ["prompt"]
    groups = sorted(frame.groupby(keys, sort=False).indices.values(), key=lambda rows: rows[0])
    chosen, rejected = [], []
    for rows in groups:
        order = rows[np.argsort(-ranked[rows], kind="stable")]
        first, second = np.triu_indices(len(order), k=1)
        better = ranked[order[first]] > ranked[order[second]]
        chosen.append(order[first][better])
        rejected.append(order[second][better])
    chosen = np.concatenate(chosen) if chosen else np.zeros(0, dtype=int)
    rejected = np.concatenate(rejected) if rejected else np.zeros(0, dtype=int)
    if chosen.size == 0:
        raise ValueError(
            f"no preference pairs: no prompt has two samples with different {objectives[dpo_objective]!r} rewards"
        )
    if max_pairs is not None and chosen.size > max_pairs:
        keep = np.sort(np.random.default_rng(seed).choice(chosen.size, size=max_pairs, replace=False))
        chosen, rejected = chosen[keep], rejected[keep]
    prompts, responses = frame["prompt"].to_numpy(), frame["response"].to_numpy()
    pairs = {"prompt": prompts[chosen], "chosen": responses[chosen], "rejected": responses[rejected]}
    for side, rows in (("chosen", chosen), ("rejected", rejected)):
        pairs |= {f"{side}_{name}": frame[name].to_numpy(dtype=np.float64)[rows] for name in objectives}
    return pd.DataFrame(pairs)


def pair_margins(pairs: pd.DataFrame, objectives: Sequence[str], weights, dpo_objective: int, scales) -> np.ndarray:
    """(P,) margins of P pairs (as `preference_pairs` writes them): sum over the objectives i other than
    `dpo_objective` of weights[i] * (r_i(chosen) - r_i(rejected)) / scales[i]. weights, scales: (M,)."""
    weights, scales = np.asarray(weights, dtype=np.float64), np.asarray(scales, dtype=np.float64)
    if weights.shape != (len(objectives),) or scales.shape != (len(objectives),):
        raise ValueError(f"weights and scales need one value per objective ({len(objectives)})")
    margins = np.zeros(len(pairs))
    for i, name in enumerate(objectives):
        if i != dpo_objective:
            gap = pairs[f"chosen_{name}"].to_numpy(dtype=np.float64) - pairs[f"rejected_{name}"].to_numpy(np.float64)
            margins += weights[i] * gap / scales[i]
    return margins


def margin_scales(rewards: np.ndarray, objectives: Sequence[str], dpo_objective: int) -> np.ndarray:
    """(M,) per-objective standard deviations (ddof 0) of (N, M) pool rewards; the objectives that give margins must
    not be constant."""
    scales = np.asarray(rewards, dtype=np.float64).std(axis=0)
    constant = [name for i, name in enumerate(objectives) if i != dpo_objective and scales[i] == 0]
    if constant:
        raise ValueError(f"objective(s) {constant} are constant over the pool: their margin cannot be normalised")
    return scales


def tokenize_pairs(tokenizer, inputs: list[str], chosen: list[str], rejected: list[str], margins, max_length: int):
    """A `datasets.Dataset` of P rows (prompt_ids, chosen_ids, rejected_ids, margin) for `modpo_trainer`.

    prompt_ids: the model input as `generate` feeds it (no added special tokens); chosen_ids, rejected_ids: each
    response tokenized on its own, then eos. Pairs whose input alone fills max_length are left out with a warning
    (TRL's collator cuts what is longer at the end).
    """
    from datasets import Dataset

    from paretohqd.train import prompt_token_ids

    eos, prompt_ids, keep = prompt_token_ids(tokenizer, inputs, max_length, "the pairs")
    responses = {}
    for side, texts in (("chosen", chosen), ("rejected", rejected)):
        ids = tokenizer([texts[i] for i in keep], add_special_tokens=False)["input_ids"]
        responses[f"{side}_ids"] = [row + [eos] for row in ids]
    return Dataset.from_dict(
        {"prompt_ids": [prompt_ids[i] for i in keep], **responses, "margin": [float(margins[i]) for i in keep]}
    )


@functools.cache
def modpo_trainer():
    """TRL's DPOTrainer with the MODPO loss, as (ModpoTrainer, MarginCollator) classes (built on first use, so
    that importing this module does not import TRL)."""
    import torch
    from trl import DPOTrainer
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    class MarginCollator(DataCollatorForPreference):
        """TRL's preference collator; the batch also carries each pair's `margin` (B,)."""

        def torch_call(self, examples):
            batch = super().torch_call(examples)
            batch["margin"] = torch.tensor([example["margin"] for example in examples], dtype=torch.float32)
            return batch

    class ModpoTrainer(DPOTrainer):
        """DPOTrainer whose loss is `modpo_loss` with weight `w_k` (args.beta is MODPO's beta). It takes the
        dataset of `tokenize_pairs` and a `MarginCollator`; the reference is what DPOTrainer makes it (with a LoRA
        adapter: the model with the adapter disabled)."""

        def __init__(self, *args, w_k: float, **kwargs):
            self.w_k = w_k
            super().__init__(*args, **kwargs)

        def _prepare_dataset(self, dataset, *args, **kwargs):
            # Tokenized already (tokenize_pairs); TRL would tokenize prompt + response as one text with the
            # tokenizer's special tokens, which generation never feeds the model.
            return dataset

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            inputs = dict(inputs)
            margins = inputs.pop("margin")
            # The batch holds the B chosen sequences, then the B rejected ones; the completion mask marks the
            # response tokens. Log-probabilities as DPOTrainer computes them, through the fused LM head it adds.
            mask = inputs["completion_mask"]
            labels = inputs["input_ids"].masked_fill(mask == 0, -100)
            outputs = model(
                input_ids=inputs["input_ids"],
                attention_mask=inputs["attention_mask"],
                labels=labels,
                use_cache=False,
                fused_lm_head=True,
            )
            logps = outputs.log_probs[:, -(mask.size(1) - 1) :].sum(dim=1)
            chosen, rejected = logps.chunk(2, dim=0)
            ref_chosen, ref_rejected = self.compute_ref_log_probs(model, inputs)
            losses = modpo_loss(
                chosen, rejected, ref_chosen, ref_rejected, margins.to(logps.dtype), self.beta, self.w_k
            )
            loss = losses.mean()
            return (loss, outputs) if return_outputs else loss

    return ModpoTrainer, MarginCollator


def build_modpo_trainer(
    model: ModelConfig,
    pairs: pd.DataFrame,
    output_dir: str | Path,
    *,
    lora: LoraSettings,
    train: TrainSettings,
    beta: float,
    w_k: float,
    chat: bool,
    progress: bool = True,
):
    """A `ModpoTrainer` (see `modpo_trainer`), ready to `train()`, for a fresh LoRA adapter on `model`.

    pairs: DataFrame with string columns prompt, chosen, rejected and a float column margin (see `pair_margins`).
    train: exactly `train.steps` steps, each seeing batch_size * grad_accum pairs. chat: prompts go through the chat
    template, as in generation. output_dir: TRL's scratch folder (nothing is saved).
    """
    from transformers import set_seed
    from transformers.trainer_callback import PrinterCallback

    from paretohqd.devices import resolve_device
    from paretohqd.generate import format_prompts
    from paretohqd.models import load_model, load_tokenizer
    from paretohqd.train import _log_last_step

    if lora.full_finetune:
        raise ValueError(
            "modpo trains LoRA adapters (the reference is the model with its adapter disabled); "
            "lora.full_finetune is not supported"
        )
    if train.steps is None:
        raise ValueError("modpo trains for a number of steps: train.steps must be set")
    missing = [c for c in (*PAIR_COLUMNS, "margin") if c not in pairs.columns]
    if missing or len(pairs) == 0:
        raise ValueError(f"pairs needs rows with columns prompt, chosen, rejected and margin; missing {missing}")
    set_seed(train.seed)  # the adapter's init must not depend on what ran before (as in paretohqd.train)
    tokenizer = load_tokenizer(model, padding_side="right")
    dataset = tokenize_pairs(
        tokenizer,
        format_prompts(tokenizer, pairs["prompt"].tolist(), chat=chat),
        pairs["chosen"].tolist(),
        pairs["rejected"].tolist(),
        pairs["margin"].to_numpy(),
        train.max_length,
    )
    trainer_class, collator_class = modpo_trainer()
    # The arguments before the model: under DeepSpeed ZeRO-3 they make it load sharded.
    args = _dpo_config(Path(output_dir), train, resolve_device(model.device), progress, beta)
    trainer = trainer_class(
        model=load_model(model),
        args=args,
        data_collator=collator_class(pad_token_id=tokenizer.pad_token_id, max_length=train.max_length),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora.peft_config(),
        w_k=w_k,
    )
    if not progress:
        trainer.remove_callback(PrinterCallback)  # prints every log line when the progress bar is off
    trainer.add_callback(_log_last_step())
    return trainer


def train_modpo(
    model: ModelConfig,
    pairs: pd.DataFrame,
    out_dir: str | Path,
    *,
    lora: LoraSettings,
    train: TrainSettings,
    beta: float,
    w_k: float,
    chat: bool,
    progress: bool = True,
):
    """Train a fresh LoRA adapter with the MODPO loss (arguments as in `build_modpo_trainer`) and save it with a
    `train_log.json` into `out_dir`, atomically, replacing what was there. Returns a `paretohqd.train.TrainResult`
    (samples_seen counts pairs)."""
    from paretohqd.train import finish_training, scratch_folder

    start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = scratch_folder(out_dir, "partial")
    try:
        with warnings.catch_warnings():
            # transformers 5.24 warns on every step that TRL reads a renamed attribute; nothing for us to act on.
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            trainer = build_modpo_trainer(
                model,
                pairs,
                staging / "trainer",
                lora=lora,
                train=train,
                beta=beta,
                w_k=w_k,
                chat=chat,
                progress=progress,
            )
            trainer.train()
        settings = {
            "model": asdict(model),
            "lora": asdict(lora),
            "train": asdict(train),
            "chat": chat,
            "beta": beta,
            "w_k": w_k,
        }
        result = finish_training(trainer, staging, out_dir, start, train, settings)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def _dpo_config(output_dir: Path, train: TrainSettings, device: str, progress: bool, beta: float):
    """TRL's DPOConfig for `train`'s settings, as `paretohqd.train` sets up SFT."""
    from trl import DPOConfig

    from paretohqd.train import device_args, settings_args

    on_cpu = device == "cpu"
    return DPOConfig(
        output_dir=str(output_dir),
        max_steps=train.steps,
        **settings_args(train),
        beta=beta,
        disable_tqdm=not progress,
        remove_unused_columns=False,  # the margin column is no model input, but the collator needs it
        **device_args(on_cpu),
    )


def modpo_settings(config) -> TrainSettings:
    """The optimisation settings of every preference model: `train`'s, for modpo.steps steps at modpo.lr."""
    return replace(config.train, steps=config.modpo.steps, epochs=None, lr=config.modpo.lr or config.train.lr)


def fit(run: Run, context: Context) -> None:
    """Score the pool, build the preference pairs, and train one adapter per preference, each a task on the config's
    executor."""
    config, objectives = context.config, context.objectives
    settings = config.modpo
    k = settings.dpo_objective
    if k >= len(objectives):
        raise ValueError(f"modpo.dpo_objective={k} must index one of the run's objectives {list(objectives)}")
    pool = paretohqd.score(run, context)
    if run.todo("pairs"):
        with run.unit("pairs") as record:
            pairs = preference_pairs(pool.frame, objectives, k, max_pairs=settings.max_pairs, seed=config.seed)
            scales = margin_scales(pool.rewards, objectives, k)
            write_parquet_atomic(pairs, run.path("modpo", "pairs.parquet"))
            record.update(
                pairs=len(pairs),
                prompts=int(pairs["prompt"].nunique()),
                pool_size=len(pool.frame),
                dpo_objective=objectives[k],
                scales=dict(zip(objectives, scales.tolist(), strict=True)),
            )
    executor = executor_for(config)
    executor.gather([executor.submit(train_preference, run, context, i) for i in range(len(context.preferences))])


def train_preference(run: Run, context: Context, index: int) -> None:
    """Unit train-modpo/<label>: MODPO-train preference `index`'s adapter on the run's pairs with its margins."""
    unit = f"train-modpo/{context.label(index)}"
    if not run.todo(unit, everyone=True):
        return
    config, objectives = context.config, context.objectives
    settings, weights = config.modpo, context.preferences[index]
    k = settings.dpo_objective
    pairs = pd.read_parquet(run.root / "modpo" / "pairs.parquet")
    scales = [run.result("pairs")["scales"][name] for name in objectives]
    with run.unit(unit) as record:
        margins = pair_margins(pairs, objectives, weights, k, scales)
        w_k = max(float(weights[k]), settings.min_weight)
        result = train_modpo(
            config.model,
            pairs[list(PAIR_COLUMNS)].assign(margin=margins),
            run.path("adapters", "modpo", context.label(index)),
            lora=config.lora,
            train=modpo_settings(config),
            beta=settings.beta,
            w_k=w_k,
            chat=context.task.chat_template,
        )
        record.update(
            steps=result.steps,
            samples_seen=result.samples_seen,
            final_loss=result.final_loss,
            weights=weights.tolist(),
            w_k=w_k,
            mean_margin=float(margins.mean()),
        )


def policies(run: Run, context: Context) -> dict[str, Policy]:
    """Per preference, its MODPO adapter."""
    labels = [context.label(i) for i in range(len(context.preferences))]
    return {label: Policy(str(run.root / "adapters" / "modpo" / label)) for label in labels}
