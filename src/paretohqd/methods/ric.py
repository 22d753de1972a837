"""RiC, Rewards-in-Context (Yang et al., 2024; DESIGN.md §3): one model serves every preference, conditioned on the
rewards it should reach.

Offline: every pool sample's rewards are z-normalised with the pool's mean and std and rounded to 0.1, and written
into its prompt right before the response as "<rm1_score> 1.3 <rm2_score> -0.4" (`Task.insert_before_response`: at
the end of the user's message for chat-template tasks, in front of the exact response marker otherwise); one LoRA
adapter is fine-tuned on the whole tagged pool. Online rounds: the latest adapter answers sampled training prompts
whose tags ask for the maximum of every objective but one (a random target for that one); the answers are scored,
relabelled with the normalised rewards they actually obtained, and those reaching the 0.7 quantile of some objective
(with those of earlier rounds) are mixed with original samples that do, to continue the adapter's SFT at a low,
constant learning rate. Inference: a preference w becomes desired rewards (`desired_rewards`, rule "l2" or "linf")
written into every prompt the same way.

Where we differ from the reference implementation (YangRui2015/RiC): mean and std come from the raw rewards (RiC
rounds raw rewards to 0.1 first, which would erase rewards that live in [0, 1]); online targets are drawn from the
observed [min, max] of the normalised pool rewards (RiC uses the range of 100,000 N(0, 1) draws); the tags replace
the exact response marker (RiC's `rstrip("\\n\\nAssistant:")` strips a character set and can eat the prompt's last
letters).

Units of work (each resumable, see `paretohqd.runs`): pool, ric-stats, train-offline, then per online round r:
generate-online-r, pool-online-r, train-online-r. Outputs: ric/stats.json (per objective: mean, std, low, high),
ric/train-offline.parquet and ric/train-online-r.parquet (the training data: tagged prompt, response, plain prompt,
tag values), ric/generations/online-r.parquet (plain prompt, response, desired rewards), adapters/ric/offline/ and
adapters/ric/online-r/.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from paretohqd import distributed
from paretohqd.checks import check_positive_int
from paretohqd.config import RIC_RULES, RunConfig
from paretohqd.data.scoring import ScoredPool, load_pool, score_pool
from paretohqd.files import write_parquet_atomic, write_text_atomic
from paretohqd.methods import paretohqd
from paretohqd.methods.base import Policy
from paretohqd.pareto import check_preferences
from paretohqd.pareto._checks import check_points
from paretohqd.pipeline import Context, prompt_options
from paretohqd.runs import Run
from paretohqd.train import TrainSettings

_TAG = re.compile(r"<rm(\d+)_score>\s+(-?\d+(?:\.\d+)?)")


def reward_stats(rewards) -> tuple[np.ndarray, np.ndarray]:
    """Per-objective mean and standard deviation (ddof 0, as np.std) of (N, M) raw rewards, each of shape (M,).

    A constant objective cannot be z-normalised: it is an error naming the objective's column.
    """
    rewards = check_points(rewards, "rewards", min_objectives=1)
    mean, std = rewards.mean(axis=0), rewards.std(axis=0)
    constant = np.flatnonzero(std == 0)
    if constant.size:
        raise ValueError(f"rewards: objective column(s) {constant.tolist()} are constant; RiC cannot normalise them")
    return mean, std


def normalize_rewards(rewards, mean, std) -> np.ndarray:
    """(N, M) rewards z-normalised per objective with mean and std (M,), rounded to 0.1 as RiC writes them."""
    rewards = check_points(rewards, "rewards", min_objectives=1)
    return _round((rewards - np.asarray(mean, dtype=float)) / np.asarray(std, dtype=float))


def format_tags(values) -> str:
    """RiC's conditioning text for M reward values: "<rm1_score> 1.3 <rm2_score> -0.4" (rounded to 0.1; -0.0 is
    written 0.0)."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.isfinite(values).all():
        raise ValueError(f"values must be a non-empty 1-D array of finite rewards; got {values.tolist()!r}")
    return " ".join(f"<rm{i}_score> {v:.1f}" for i, v in enumerate(_round(values), start=1))


def parse_tags(text: str) -> np.ndarray:
    """The (M,) reward values of the RiC tags in `text` (the inverse of `format_tags`); the tags must be numbered 1,
    2, ..., M in order."""
    found = _TAG.findall(text)
    numbers = [int(number) for number, _ in found]
    if not found or numbers != list(range(1, len(found) + 1)):
        raise ValueError(f"no RiC tags <rm1_score> v, <rm2_score> v, ... (numbered from 1, in order) in {text!r}")
    return np.array([float(value) for _, value in found])


def desired_rewards(preference, low, high, rule: str = "l2") -> np.ndarray:
    """The (M,) normalised rewards a preference w asks for, rounded to 0.1; low, high (M,): the per-objective min and
    max of the training data's normalised rewards.

    "l2" (RiC's default): target_i = w_i / ||w||_2 * (high_i - low_i) + low_i, so w = (1, 0) asks for (high_1, low_2)
    and the balanced w for 71% of every range. "linf": the objective of the largest weight (the first on ties) gets
    high, every other i gets min(M * w_i, 1) * (high_i - low_i) + low_i. w is normalised to sum 1 first.
    """
    if rule not in RIC_RULES:
        raise ValueError(f"rule must be one of {', '.join(map(repr, RIC_RULES))}; got {rule!r}")
    low, high = _check_range(low, high)
    w = check_preferences(preference, low.size)[0]
    if rule == "l2":
        target = w / np.linalg.norm(w) * (high - low) + low
    else:
        target = np.minimum(w.size * w, 1.0) * (high - low) + low
        target[np.argmax(w)] = high[np.argmax(w)]
    return _round(target)


def sample_online_targets(rng: np.random.Generator, n: int, low, high) -> np.ndarray:
    """(n, M) desired rewards for online generation, rounded to 0.1, as RiC draws them: each row draws M uniform
    positions in [0, 1); the objective with the smallest keeps its draw as a target in [low, high], every other one
    gets high. So each objective is the free one equally often, and its target is the minimum of M uniform draws
    (it leans towards low: mean position 1 / (M + 1)).

    RiC scales the draws to the range of N(0, 1) samples; we use the observed [low, high] of the normalised
    training rewards, the range the model has seen tags from.
    """
    n = check_positive_int(n, "n")
    low, high = _check_range(low, high)
    draws = rng.random((n, low.size))
    free = draws.argmin(axis=1)
    rows = np.arange(n)
    targets = np.tile(high, (n, 1))
    targets[rows, free] = low[free] + draws[rows, free] * (high - low)[free]
    return _round(targets)


def online_keep_mask(normalised, quantile: float) -> np.ndarray:
    """(N,) True for the samples whose (N, M) rewards reach the `quantile` of their column in at least one
    objective (RiC keeps these samples from the frontier of every objective)."""
    if isinstance(quantile, bool) or not isinstance(quantile, int | float) or not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1); got {quantile!r}")
    normalised = check_points(normalised, "normalised", min_objectives=1)
    return (normalised >= np.quantile(normalised, quantile, axis=0)).any(axis=1)


def _round(values: np.ndarray) -> np.ndarray:
    """Rounded to 0.1, with -0.0 turned into 0.0 (so that tags never read "-0.0")."""
    return np.round(values, 1) + 0.0


def _check_range(low, high) -> tuple[np.ndarray, np.ndarray]:
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    if low.ndim != 1 or low.size == 0 or low.shape != high.shape:
        raise ValueError(f"low and high must be 1-D of one length, one value per objective; got {low!r}, {high!r}")
    if not (np.isfinite(low).all() and np.isfinite(high).all()) or (low > high).any():
        raise ValueError(f"low and high must be finite with low <= high; got {low.tolist()}, {high.tolist()}")
    return low, high


@dataclass(frozen=True)
class RewardScale:
    """How RiC reads rewards, per objective (M,): the offline pool's mean and std (z-normalisation), and the min
    (low) and max (high) of the pool's normalised rewards (the range desired rewards come from)."""

    mean: np.ndarray
    std: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, rewards) -> RewardScale:
        """The scale of (N, M) raw rewards."""
        mean, std = reward_stats(rewards)
        normalised = normalize_rewards(rewards, mean, std)
        return cls(mean, std, normalised.min(axis=0), normalised.max(axis=0))

    def normalize(self, rewards) -> np.ndarray:
        """(N, M) raw rewards as RiC's tag values (`normalize_rewards` with this mean and std)."""
        return normalize_rewards(rewards, self.mean, self.std)

    def to_json(self, objectives) -> str:
        fields = ("mean", "std", "low", "high")
        return json.dumps(
            {name: {f: float(getattr(self, f)[j]) for f in fields} for j, name in enumerate(objectives)}, indent=1
        )

    @classmethod
    def read(cls, path: Path, objectives) -> RewardScale:
        """The scale saved at `path` for `objectives` (in that order)."""
        if not path.is_file():
            raise FileNotFoundError(f"no RiC reward statistics at {path}: train the run first (`paretohqd run`)")
        saved = json.loads(path.read_text())
        missing = [name for name in objectives if name not in saved]
        if missing:
            raise ValueError(f"{path} has no statistics for objective(s) {missing}")
        return cls(*(np.array([saved[name][f] for name in objectives]) for f in ("mean", "std", "low", "high")))


def tagged_samples(context: Context, samples: pd.DataFrame, normalised: np.ndarray) -> pd.DataFrame:
    """Training samples whose prompts carry their (N, M) normalised rewards: prompt (with the tags, what the model
    reads, as evaluation builds it), response, plain_prompt, and one column per objective with the tag values."""
    plain = samples["prompt"].tolist()
    prompts = [context.task.insert_before_response(p, format_tags(v)) for p, v in zip(plain, normalised, strict=True)]
    frame = pd.DataFrame({"prompt": prompts, "response": samples["response"].tolist(), "plain_prompt": plain})
    for j, name in enumerate(context.objectives):
        frame[name] = normalised[:, j]
    return frame


def fit(run: Run, context: Context) -> None:
    """Run (or resume) the offline training and every online round."""
    from paretohqd.train import train_sft

    config = context.config
    pool = paretohqd.score(run, context)
    scale = _stats(run, context, pool)
    if run.todo("train-offline", everyone=True):
        with run.unit("train-offline") as record:
            samples = tagged_samples(context, pool.frame, scale.normalize(pool.rewards))
            if distributed.is_main():  # every process of `accelerate launch` trains on these samples; one saves them
                write_parquet_atomic(samples, run.path("ric", "train-offline.parquet"))
            result = train_sft(
                config.model,
                samples,
                _adapter(run, 0),
                lora=config.lora,
                train=offline_settings(config),
                chat=context.task.chat_template,
            )
            record.update(
                samples=len(samples), steps=result.steps, samples_seen=result.samples_seen, final_loss=result.final_loss
            )
    for r in range(1, config.ric.online_rounds + 1):
        _generate_online(run, context, scale, r)
        _score_online(run, context, r)
        _train_online(run, context, pool, scale, r)


def offline_settings(config: RunConfig) -> TrainSettings:
    """`train` with the offline length: ric.steps steps, or ric.epochs passes over the whole pool."""
    ric = config.ric
    return replace(config.train, steps=ric.steps, epochs=None if ric.steps else ric.epochs)


def online_settings(config: RunConfig) -> TrainSettings:
    """`train` for an online round: ric.online_lr, constant (as RiC), for ric.online_steps steps or one epoch."""
    ric = config.ric
    steps = ric.online_steps
    return replace(
        config.train, lr=ric.online_lr, scheduler="constant", warmup_steps=0, steps=steps, epochs=None if steps else 1.0
    )


def policies(run: Run, context: Context) -> dict[str, Policy]:
    """Per preference label, the final adapter (the same for all) with the preference's desired rewards as tags."""
    scale = RewardScale.read(_stats_path(run), context.objectives)
    adapter = str(_adapter(run, context.config.ric.online_rounds))
    rule = context.config.ric.rule
    return {
        context.label(i): Policy(adapter, format_tags(desired_rewards(w, scale.low, scale.high, rule)))
        for i, w in enumerate(context.preferences)
    }


def _adapter(run: Run, round_: int) -> Path:
    """The adapter after online round `round_` (0: the offline one)."""
    return run.root / "adapters" / "ric" / ("offline" if round_ == 0 else f"online-{round_}")


def _stats_path(run: Run) -> Path:
    return run.root / "ric" / "stats.json"


def _stats(run: Run, context: Context, pool: ScoredPool) -> RewardScale:
    """Unit ric-stats: the pool's reward scale, saved once and read by every later step."""
    if run.todo("ric-stats"):
        with run.unit("ric-stats") as record:
            text = RewardScale.of(pool.rewards).to_json(context.objectives)
            write_text_atomic(run.path("ric", "stats.json"), text)
            record.update(stats=json.loads(text))
    return RewardScale.read(_stats_path(run), context.objectives)


def _generate_online(run: Run, context: Context, scale: RewardScale, r: int) -> None:
    """Unit generate-online-r: the previous adapter answers ric.online_prompts training prompts (drawn with
    replacement) tagged with desired rewards from `sample_online_targets`; usable responses are kept."""
    from paretohqd.generate import format_prompts, generate
    from paretohqd.models import load_tokenizer
    from paretohqd.text import clean_generation
    from paretohqd.train import load_trained

    unit = f"generate-online-{r}"
    if not run.todo(unit):
        return
    config, ric = context.config, context.config.ric
    with run.unit(unit) as record:
        rng = np.random.default_rng([config.seed, r])
        prompts = context.task.load_train_prompts(**prompt_options(context))
        prompts = [prompts[i] for i in rng.integers(0, len(prompts), ric.online_prompts)]
        targets = sample_online_targets(rng, len(prompts), scale.low, scale.high)
        inputs = [context.task.insert_before_response(p, format_tags(t)) for p, t in zip(prompts, targets, strict=True)]
        model = load_trained(config.model, _adapter(run, r - 1), merge=True)
        tokenizer = load_tokenizer(config.model)
        settings = replace(ric.generation, seed=ric.generation.seed + r)
        out = generate(model, tokenizer, format_prompts(tokenizer, inputs, context.task.chat_template), settings)
        responses = [
            clean_generation(p, text, bool(capped), context.task.stop_markers)
            for p, text, capped in zip(prompts, out.texts, out.capped, strict=True)
        ]
        kept = [i for i, response in enumerate(responses) if response is not None]
        if not kept:
            raise RuntimeError(
                f"online round {r}: none of the {len(prompts)} generations is usable (empty, degenerate, or cut at "
                "the token cap without a complete sentence); raise ric.generation.max_new_tokens or train longer"
            )
        frame = pd.DataFrame({"prompt": [prompts[i] for i in kept], "response": [responses[i] for i in kept]})
        for j, name in enumerate(context.objectives):
            frame[f"desired_{name}"] = targets[kept, j]
        write_parquet_atomic(frame, run.path("ric", "generations", f"online-{r}.parquet"))
        record.update(generations=len(prompts), kept=len(kept), tokens_per_second=out.tokens_per_second)


def _score_online(run: Run, context: Context, r: int) -> None:
    """Unit pool-online-r: the round's usable generations scored against their plain prompts."""
    unit = f"pool-online-{r}"
    if not run.todo(unit):
        return
    with run.unit(unit) as record:
        generations = pd.read_parquet(run.root / "ric" / "generations" / f"online-{r}.parquet")
        pool = score_pool(generations[["prompt", "response"]], context.objectives, run.root / "pools")
        record.update(path=str(pool.path.relative_to(run.root)), samples=len(pool.frame), stats=pool.stats())


def online_data(run: Run, context: Context, pool: ScoredPool, scale: RewardScale, r: int) -> pd.DataFrame:
    """Round r's training data (tagged, with a `source` column): the generated samples of rounds 1..r that reach
    their round's ric.online_quantile in some objective, tagged with the normalised rewards they obtained (RiC keeps
    the online data of earlier rounds), and a random subset of the pool's samples reaching the pool's quantile
    (ric.online_original of them, None: as many as the generated ones)."""
    config, ric = context.config, context.config.ric
    generated = []
    for s in range(1, r + 1):
        new = load_pool(run.root / run.result(f"pool-online-{s}")["path"])
        normalised = scale.normalize(new.rewards)
        keep = online_keep_mask(normalised, ric.online_quantile)
        generated.append(tagged_samples(context, new.frame[keep], normalised[keep]).assign(source=f"online-{s}"))
    generated = pd.concat(generated, ignore_index=True)
    normalised = scale.normalize(pool.rewards)
    candidates = np.flatnonzero(online_keep_mask(normalised, ric.online_quantile))
    size = min(len(generated) if ric.online_original is None else ric.online_original, candidates.size)
    rows = np.sort(np.random.default_rng([config.seed, r, 1]).choice(candidates, size=size, replace=False))
    original = tagged_samples(context, pool.frame.iloc[rows], normalised[rows]).assign(source="pool")
    return pd.concat([original, generated], ignore_index=True)


def _train_online(run: Run, context: Context, pool: ScoredPool, scale: RewardScale, r: int) -> None:
    """Unit train-online-r: the previous adapter trained further on `online_data`."""
    from paretohqd.train import train_sft

    unit = f"train-online-{r}"
    if not run.todo(unit, everyone=True):
        return
    config = context.config
    with run.unit(unit) as record:
        samples = online_data(run, context, pool, scale, r)
        if distributed.is_main():  # every process of `accelerate launch` trains on these samples; one saves them
            write_parquet_atomic(samples, run.path("ric", f"train-online-{r}.parquet"))
        result = train_sft(
            config.model,
            samples,
            _adapter(run, r),
            lora=config.lora,
            train=online_settings(config),
            chat=context.task.chat_template,
            init_adapter=_adapter(run, r - 1),
        )
        record.update(
            samples=len(samples),
            original_samples=int((samples["source"] == "pool").sum()),
            steps=result.steps,
            samples_seen=result.samples_seen,
            final_loss=result.final_loss,
        )
