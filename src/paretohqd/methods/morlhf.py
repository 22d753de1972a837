"""MORLHF (DESIGN.md §3): one model per preference w, RL-trained on the scalarised reward sum_i w_i r_i.

The RL algorithm is GRPO (TRL's `GRPOTrainer`), not the PPO of RiC's MORLHF script: TRL 1.16 ships no PPO trainer
(not even in `trl.experimental`), and GRPO with `reward_weights` is TRL's own way to optimise a weighted sum of
several reward functions with a KL penalty (`beta`) to the reference model (RLOO offers the same; GRPO is TRL's main
online trainer). Per preference, a fresh LoRA adapter (config.lora) on the base model answers each training prompt
`num_generations` times; each completion gets sum_i w_i r_i, its advantage is that reward standardised within its
prompt's group (TRL's defaults: scale_rewards "group", loss "dapo"), and the loss adds beta x KL to the base model
(with PEFT, TRL's reference is the base model with the adapter disabled, so no second model is loaded).

Rewards live on different scales (a logit, a cosine, a share of words), so a weight would mean different things for
different objectives. Each objective's reward is therefore z-scored with the scored pool's per-objective mean and std
(as RiC does), and w weighs the z-scores: w = (0.5, 0.5) trades one pool standard deviation of one objective for one
of the other. (GRPO's group normalisation rescales only the sum, not its parts.) `morlhf.normalize: false` weighs raw
rewards instead, as RiC's MORLHF script does.

The reward functions see what evaluation scores: the plain prompt (the user's message of a chat prompt, the prompt
text otherwise) and the completion cut at the task's stop markers (`paretohqd.text.cut_at_stops`). One difference
from evaluation remains: TRL tokenizes plain-text prompts with the tokenizer's special tokens, so a tokenizer that
adds a BOS (Llama-2) trains with one in front of prompts that evaluation feeds without it.

Units of work (each resumable, see `paretohqd.runs`): pool, train-rl/pref-XX. Outputs: adapters/morlhf/pref-XX/ (the
adapter and a train_log.json with the per-step rewards, KL and settings).
"""

from __future__ import annotations

import shutil
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from paretohqd.data.scoring import ScoredPool
from paretohqd.executors import executor_for
from paretohqd.methods import paretohqd
from paretohqd.methods.base import Policy
from paretohqd.pipeline import Context, prompt_options
from paretohqd.rewards import RewardModel
from paretohqd.runs import Run
from paretohqd.text import cut_at_stops


class ObjectiveReward:
    """One objective as a TRL reward function: (prompts, completions) -> N floats (r - mean) / std, where r is the
    objective's raw reward of the plain prompt and the completion cut at `stops`. Prompts and completions are strings
    or chat messages (TRL's conversational form: the last message's content counts). Its `__name__` is the reward's
    name, which TRL logs the mean reward under (rewards/<name>/mean)."""

    def __init__(self, reward: RewardModel, mean: float = 0.0, std: float = 1.0, stops: Sequence[str] = ()):
        if not np.isfinite(mean) or not std > 0 or not np.isfinite(std):
            raise ValueError(f"reward '{reward.name}': mean must be finite and std positive; got {mean!r}, {std!r}")
        self.reward, self.mean, self.std, self.stops = reward, float(mean), float(std), tuple(stops)
        self.__name__ = reward.name

    def __call__(self, prompts: Sequence, completions: Sequence, **_) -> list[float]:
        plain = [message_text(p) for p in prompts]
        responses = [cut_at_stops(message_text(c), self.stops) for c in completions]
        return ((self.reward.score(plain, responses) - self.mean) / self.std).tolist()


def message_text(item) -> str:
    """The text of a prompt or completion as TRL passes it: the string itself, or the content of the last message
    of a conversation (a list of {"role", "content"} dicts)."""
    if isinstance(item, str):
        return item
    if isinstance(item, list) and item and isinstance(item[-1], dict) and isinstance(item[-1].get("content"), str):
        return item[-1]["content"]
    raise TypeError(f"expected a string or a list of chat messages with string content; got {item!r}")


def objective_rewards(
    pool: ScoredPool, objectives: Sequence[str], stops: Sequence[str], normalize: bool = True
) -> list[ObjectiveReward]:
    """One `ObjectiveReward` per objective, z-scored with the pool's mean and std (normalize) or raw. An objective
    that is constant over the pool cannot be z-scored: an error naming it."""
    from paretohqd.rewards import load_reward

    stats = pool.stats()
    if normalize:
        constant = [name for name in objectives if not stats[name]["std"] > 0]
        if constant:
            raise ValueError(
                f"objective(s) {', '.join(constant)} are constant over the scored pool, so their rewards cannot be "
                "z-scored; use other objectives or morlhf.normalize=false"
            )
    scale = {name: (stats[name]["mean"], stats[name]["std"]) if normalize else (0.0, 1.0) for name in objectives}
    return [ObjectiveReward(load_reward(name), *scale[name], stops) for name in objectives]


def training_prompts(context: Context) -> list[str]:
    """morlhf.prompts training prompts of the task, drawn with the run's seed (all of them when it has fewer)."""
    prompts = context.task.load_train_prompts(**prompt_options(context))
    rng = np.random.default_rng(context.config.seed)
    return [prompts[i] for i in sorted(rng.permutation(len(prompts))[: context.config.morlhf.prompts])]


def fit(run: Run, context: Context) -> None:
    """Score the pool, then RL-train (or resume) one adapter per preference, each a task on the config's executor."""
    paretohqd.score(run, context)
    executor = executor_for(context.config)
    executor.gather([executor.submit(train_preference, run, context, i) for i in range(len(context.preferences))])


def train_preference(run: Run, context: Context, index: int) -> None:
    """Unit train-rl/<label>: GRPO-train preference `index`'s adapter on the pool-normalised objective rewards."""
    label = context.label(index)
    if not run.todo(f"train-rl/{label}", everyone=True):
        return
    settings = context.config.morlhf
    pool = paretohqd.score(run, context)
    rewards = objective_rewards(pool, context.objectives, context.task.stop_markers, settings.normalize)
    prompts = training_prompts(context)
    with run.unit(f"train-rl/{label}") as record:
        log = train_grpo(context, prompts, rewards, context.preferences[index], _adapter(run, label))
        final = log["rewards"][-1]
        record.update(
            weights=context.preferences[index].tolist(),
            steps=log["steps"],
            samples_seen=log["samples_seen"],
            generations=log["generations"],
            prompts=len(prompts),
            final_reward=final["reward"],
            final_objective_rewards=final["objectives"],
            reward_scale={r.__name__: {"mean": r.mean, "std": r.std} for r in rewards},
        )


def train_grpo(
    context: Context,
    prompts: list[str],
    rewards: list[ObjectiveReward],
    weights: np.ndarray,
    out_dir: Path,
    progress: bool = True,
) -> dict:
    """GRPO-train a fresh LoRA adapter on the base model with reward sum_i weights[i] * rewards[i]; save it with a
    train_log.json into `out_dir` (written next to it and renamed into place) and return the log: steps, samples_seen
    (= generations: completions trained on), and per logged step the weighted reward, the objectives' (normalised)
    mean rewards and the KL to the base model."""
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback
    from trl import GRPOTrainer

    from paretohqd.models import load_model, load_tokenizer
    from paretohqd.train import publish_trained, scratch_folder

    config = context.config
    settings = config.morlhf
    if config.lora.full_finetune:
        raise ValueError("morlhf trains a LoRA adapter per preference; lora.full_finetune is not supported")
    start = time.perf_counter()
    rows = [[{"role": "user", "content": p}] for p in prompts] if context.task.chat_template else prompts
    peft_config = config.lora.peft_config()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = scratch_folder(out_dir, "partial")
    try:
        with warnings.catch_warnings():
            # transformers 5.24 warns whenever TRL or PEFT read a renamed attribute; nothing for us to act on.
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            # The arguments before the model: under DeepSpeed ZeRO-3 they make it load sharded.
            args = _grpo_config(context, staging / "trainer", weights, progress)
            trainer = GRPOTrainer(
                model=load_model(config.model),
                reward_funcs=list(rewards),
                args=args,
                train_dataset=Dataset.from_dict({"prompt": rows}),
                processing_class=load_tokenizer(config.model),
                peft_config=peft_config,
            )
            if not progress:
                trainer.remove_callback(PrinterCallback)  # prints every log line when the progress bar is off
            trainer.train()
        shutil.rmtree(staging / "trainer", ignore_errors=True)
        steps = trainer.state.global_step
        completions = steps * settings.batch_size * settings.num_generations * trainer.args.world_size
        log = {
            "steps": steps,
            "samples_seen": completions,
            "generations": completions,
            "rewards": [
                {
                    "step": int(entry["step"]),
                    "reward": float(entry["reward"]),
                    "objectives": {r.__name__: float(entry[f"rewards/{r.__name__}/mean"]) for r in rewards},
                    "kl": float(entry["kl"]) if "kl" in entry else None,
                }
                for entry in trainer.state.log_history
                if "reward" in entry
            ],
            "seconds": time.perf_counter() - start,
            "settings": {
                "weights": np.asarray(weights, dtype=float).tolist(),
                "model": asdict(config.model),
                "lora": asdict(config.lora),
                "morlhf": asdict(settings),
                "chat": context.task.chat_template,
                "reward_scale": {r.__name__: {"mean": r.mean, "std": r.std} for r in rewards},
            },
        }
        publish_trained(trainer, staging, out_dir, log)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return log


def _grpo_config(context: Context, output_dir: Path, weights: np.ndarray, progress: bool):
    """TRL's GRPOConfig for one preference: a step generates batch_size x num_generations completions and trains on
    them once (grad_accum micro-batches), logging every step."""
    from trl import GRPOConfig

    from paretohqd.devices import resolve_device
    from paretohqd.train import device_args

    config = context.config
    settings = config.morlhf
    on_cpu = resolve_device(config.model.device) == "cpu"
    completions = settings.batch_size * settings.num_generations
    return GRPOConfig(
        output_dir=str(output_dir),
        max_steps=settings.steps,
        per_device_train_batch_size=completions // settings.grad_accum,
        gradient_accumulation_steps=settings.grad_accum,  # one generation batch per optimizer step
        num_generations=settings.num_generations,
        max_completion_length=settings.max_new_tokens or context.task.max_new_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
        beta=settings.beta,
        reward_weights=np.asarray(weights, dtype=float).tolist(),
        learning_rate=settings.lr,
        lr_scheduler_type="constant",  # as RiC's MORLHF (PPO with a fixed Adam learning rate)
        warmup_steps=0,
        seed=config.train.seed,  # TRL seeds before it creates the adapter: every preference starts from one init
        data_seed=config.train.seed,
        report_to=config.train.report_to,
        logging_steps=1,
        save_strategy="no",  # train_grpo saves once, atomically, at the end
        disable_tqdm=not progress,
        **device_args(on_cpu),
    )


def _adapter(run: Run, label: str) -> Path:
    return run.root / "adapters" / "morlhf" / label


def policies(run: Run, context: Context) -> dict[str, Policy]:
    """Per preference label, its RL-trained adapter."""
    labels = [context.label(i) for i in range(len(context.preferences))]
    return {label: Policy(str(_adapter(run, label))) for label in labels}
