"""Typed run configuration: YAML files map 1:1 onto these dataclasses, and `--set section.key=value` overrides them.

Unknown keys and values of the wrong type are errors that name the key, so a typo never silently falls back to a
default. Every section has defaults; a config file only says what differs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from paretohqd.checks import check_positive_int
from paretohqd.generate import GenerationConfig
from paretohqd.models import EMBEDDED_MODEL, ModelConfig
from paretohqd.train import LoraSettings, TrainSettings

# Method names (modules in paretohqd.methods); kept here as names so that configs load without importing training.
METHODS = ("paretohqd", "ric", "soups", "morlhf", "modpo", "scalarized", "full_sft", "stage1_only")


@dataclass(frozen=True)
class SelectionConfig:
    """Stage-1 selection (DESIGN.md §2): k samples per preference from the fewest top layers holding
    pool_factor * k samples (or exactly `layers` layers), nearest the preference ray by `metric`."""

    k: int = 40
    pool_factor: float = 3.0
    layers: int | None = None
    metric: str = "perpendicular"
    quantiles: tuple[float, float] | None = None


@dataclass(frozen=True)
class Stage2Config:
    """Stage 2: representative stage-1 models answer `prompts` training prompts; k (default: half the stage-1 k)
    samples per preference are reselected from the new pool and each preference's adapter trains `steps` more.

    representatives: preference vectors whose stage-1 models generate (default: one per objective + the balanced
    one). reuse_bounds: normalise the new pool with stage 1's bounds instead of its own min/max.
    """

    enabled: bool = True
    prompts: int = 200
    k: int | None = None
    steps: int = 15
    representatives: tuple[tuple[float, ...], ...] | None = None
    reuse_bounds: bool = False
    generation: GenerationConfig = GenerationConfig(max_new_tokens=64, temperature=0.7, top_p=0.9, batch_size=32)


# How RiC turns a preference into desired rewards (see paretohqd.methods.ric.desired_rewards).
RIC_RULES = ("l2", "linf")


@dataclass(frozen=True)
class RicConfig:
    """Rewards-in-Context (`method: ric`, DESIGN.md §3): one adapter fine-tuned on the whole pool with each sample's
    normalised rewards written into its prompt, then `online_rounds` rounds of generating, relabelling and
    continued fine-tuning; the optimisation settings not named here come from `train`.

    epochs: offline passes over the whole pool (RiC trains on all of it); steps: exactly this many offline steps
    instead. online_prompts: training prompts answered per round (drawn with replacement, each with fresh desired
    rewards). online_quantile: generated and original samples are kept when they reach this quantile of some
    objective. online_original: kept original samples mixed into each round (None: as many as the kept generated
    ones). online_lr, online_steps: each round's continued SFT, at a constant learning rate as in RiC, for
    online_steps steps (None: one epoch over the round's data). rule: how a preference becomes desired rewards at
    inference, "l2" (RiC's default) or "linf". generation: sampling in the online rounds.
    """

    epochs: float = 1.0
    steps: int | None = None
    online_rounds: int = 2
    online_prompts: int = 200
    online_quantile: float = 0.7
    online_original: int | None = None
    online_lr: float = 1e-5
    online_steps: int | None = None
    rule: str = "l2"
    generation: GenerationConfig = GenerationConfig(max_new_tokens=64, temperature=0.7, top_p=0.9, batch_size=32)

    def __post_init__(self):
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int | float) or not self.epochs > 0:
            raise ValueError(f"epochs must be a positive number; got {self.epochs!r}")
        for name in ("steps", "online_steps"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)
        check_positive_int(self.online_prompts, "online_prompts")
        rounds, original = self.online_rounds, self.online_original
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 0:
            raise ValueError(f"online_rounds must be a non-negative integer; got {rounds!r}")
        if original is not None and (isinstance(original, bool) or not isinstance(original, int) or original < 0):
            raise ValueError(f"online_original must be a non-negative integer or null; got {original!r}")
        quantile = self.online_quantile
        if isinstance(quantile, bool) or not isinstance(quantile, int | float) or not 0 < quantile < 1:
            raise ValueError(f"online_quantile must be in (0, 1); got {quantile!r}")
        if isinstance(self.online_lr, bool) or not isinstance(self.online_lr, int | float) or not self.online_lr > 0:
            raise ValueError(f"online_lr must be a positive number; got {self.online_lr!r}")
        if self.rule not in RIC_RULES:
            raise ValueError(f"rule must be one of {', '.join(map(repr, RIC_RULES))}; got {self.rule!r}")


@dataclass(frozen=True)
class EvalConfig:
    """Held-out evaluation: `prompts` eval prompts (None: all the task has), sampled with the same seed for every
    model so that comparisons are paired; max_new_tokens None means the task's. base: also evaluate the untrained
    base model, as a reference point. enabled: evaluate at the end of `run`."""

    enabled: bool = True
    base: bool = True
    prompts: int | None = None
    max_new_tokens: int | None = None
    temperature: float = 0.7
    top_p: float = 0.9
    batch_size: int = 32
    seed: int = 1234


@dataclass(frozen=True)
class SoupsConfig:
    """Rewarded Soups (`method: soups`): one model per objective, fine-tuned on that objective's top-k samples of
    the pool (k None: selection.k) for `steps` steps (None: what one ParetoHqD preference model trains in both
    stages, train.steps + stage2.steps); a preference's model interpolates their LoRA weights."""

    k: int | None = None
    steps: int | None = None

    def __post_init__(self):
        for name in ("k", "steps"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)


@dataclass(frozen=True)
class FullSftConfig:
    """Full-pool SFT ablation (`method: full_sft`): one model fine-tuned on every sample of the pool for `epochs`
    passes (RiC's offline data budget), or exactly `steps` steps when set."""

    epochs: float = 1.0
    steps: int | None = None

    def __post_init__(self):
        if self.steps is not None:
            check_positive_int(self.steps, "steps")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int | float) or not self.epochs > 0:
            raise ValueError(f"epochs must be a positive number; got {self.epochs!r}")


@dataclass(frozen=True)
class MorlhfConfig:
    """MORLHF (`method: morlhf`, DESIGN.md §3): per preference w, a fresh LoRA adapter RL-trained with GRPO on the
    scalarised reward sum_i w_i r_i, with a KL penalty (coefficient `beta`) to the base model.

    steps: optimizer steps per preference. prompts: training prompts drawn (seeded) from the task's. batch_size:
    prompts per step; each is answered num_generations times (GRPO's group, at least 2), so a step trains on
    batch_size * num_generations completions, in grad_accum micro-batches (which must divide it). lr: constant
    learning rate (RiC's MORLHF uses 1e-5 with LoRA). max_new_tokens: completion budget (None: the task's).
    temperature, top_p: sampling of the training completions. normalize: z-score each objective's reward with the
    scored pool's mean and std so that w weighs objectives of different scales alike (False: raw rewards).
    """

    steps: int = 20
    prompts: int = 200
    batch_size: int = 4
    num_generations: int = 4
    grad_accum: int = 1
    beta: float = 0.04
    lr: float = 1e-5
    max_new_tokens: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    normalize: bool = True

    def __post_init__(self):
        for name in ("steps", "prompts", "batch_size", "grad_accum"):
            check_positive_int(getattr(self, name), name)
        if self.max_new_tokens is not None:
            check_positive_int(self.max_new_tokens, "max_new_tokens")
        generations = self.num_generations
        if isinstance(generations, bool) or not isinstance(generations, int) or generations < 2:
            raise ValueError(
                f"num_generations must be an integer >= 2 (GRPO compares the completions of one prompt with each "
                f"other); got {generations!r}"
            )
        if (self.batch_size * generations) % self.grad_accum:
            raise ValueError(
                f"grad_accum={self.grad_accum} must divide the completions of a step, batch_size * num_generations = "
                f"{self.batch_size * generations}"
            )
        if isinstance(self.beta, bool) or not isinstance(self.beta, int | float) or not self.beta >= 0:
            raise ValueError(f"beta must be a non-negative number (0: no KL penalty); got {self.beta!r}")
        for name in ("lr", "temperature"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} must be a positive number; got {value!r}")
        if isinstance(self.top_p, bool) or not isinstance(self.top_p, int | float) or not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1]; got {self.top_p!r}")


@dataclass(frozen=True)
class ModpoConfig:
    """MODPO (`method: modpo`, DESIGN.md §3): per preference w, a fresh LoRA adapter trained with DPO on pairs ranked
    by objective `dpo_objective` (k), with a margin from the other objectives' rewards (see paretohqd.methods.modpo).

    beta: the DPO temperature (divided by w_k in the loss). steps: optimizer steps per preference (default: what a
    ParetoHqD preference model trains in both stages, 30 + 15); a step sees train.batch_size * train.grad_accum pairs.
    lr: learning rate (None: train.lr; the other optimisation settings come from `train`). max_pairs: at most this
    many pairs, drawn with the run's seed (None: all). min_weight: floor for w_k, since the loss divides by it (a
    preference with w_k = 0 trains with w_k = min_weight). dpo_objective: index of the objective that ranks the pairs.
    """

    beta: float = 0.1
    steps: int = 45
    lr: float | None = None
    max_pairs: int | None = None
    min_weight: float = 0.01
    dpo_objective: int = 0

    def __post_init__(self):
        check_positive_int(self.steps, "steps")
        if self.max_pairs is not None:
            check_positive_int(self.max_pairs, "max_pairs")
        if isinstance(self.beta, bool) or not isinstance(self.beta, int | float) or not self.beta > 0:
            raise ValueError(f"beta must be a positive number; got {self.beta!r}")
        lr = self.lr
        if lr is not None and (isinstance(lr, bool) or not isinstance(lr, int | float) or not lr > 0):
            raise ValueError(f"lr must be a positive number or null (train.lr); got {lr!r}")
        weight = self.min_weight
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 1:
            raise ValueError(f"min_weight must be in (0, 1] (the loss divides by w_k); got {weight!r}")
        index = self.dpo_objective
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"dpo_objective must be a non-negative objective index; got {index!r}")


# Where a run's units of work compute (see paretohqd.executors); the config keys that choose it and that the digest
# leaves out, since they do not change what a run computes.
EXECUTORS = ("local", "ray")
_EXECUTION_KEYS = ("executor", "ray")


@dataclass(frozen=True)
class RayConfig:
    """`executor: ray`: every preference's training, the stage-2 generations and every model's evaluation are Ray
    tasks, each declaring these resources. address: the Ray cluster to join ("auto": the one this machine belongs
    to; None: join Ray if it is initialised already, else start a local instance). cpus_per_task: CPUs per task, and
    the torch threads a task uses. gpus_per_task: GPUs per task (0: CPU only; set 1 on a GPU cluster, or the tasks
    see no GPU). memory_gb: memory a task reserves (None: no reservation). max_retries: times Ray reruns a task whose
    worker died (killed, out of memory, node lost); a Python exception in a task is not retried (rerunning the run
    resumes it)."""

    address: str | None = None
    cpus_per_task: float = 1.0
    gpus_per_task: float = 0.0
    memory_gb: float | None = None
    max_retries: int = 2

    def __post_init__(self):
        cpus, gpus, memory = self.cpus_per_task, self.gpus_per_task, self.memory_gb
        if isinstance(cpus, bool) or not isinstance(cpus, int | float) or not cpus > 0:
            raise ValueError(f"cpus_per_task must be a positive number; got {cpus!r}")
        if isinstance(gpus, bool) or not isinstance(gpus, int | float) or not gpus >= 0:
            raise ValueError(f"gpus_per_task must be a non-negative number (0: CPU only); got {gpus!r}")
        if memory is not None and (isinstance(memory, bool) or not isinstance(memory, int | float) or not memory > 0):
            raise ValueError(f"memory_gb must be a positive number or null (no reservation); got {memory!r}")
        retries = self.max_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer; got {retries!r}")


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs. preferences: explicit weight vectors, or None for the paper's grid; divisions: use
    the simplex lattice with this many divisions instead. data: keyword options for the task's loaders (e.g.
    source=a local copy of the dataset). executor: where the units of work compute, "local" (this process, one
    after another; the one for `accelerate launch`) or "ray" (Ray tasks, with the resources of `ray`)."""

    name: str = "run"
    task: str = "chat-offline"
    method: str = "paretohqd"
    objectives: tuple[str, ...] | None = None
    preferences: tuple[tuple[float, ...], ...] | None = None
    divisions: int | None = None
    seed: int = 0
    threads: int | None = None
    data: dict = field(default_factory=dict)
    model: ModelConfig = ModelConfig(EMBEDDED_MODEL)
    lora: LoraSettings = LoraSettings()
    train: TrainSettings = TrainSettings()
    selection: SelectionConfig = SelectionConfig()
    stage2: Stage2Config = Stage2Config()
    ric: RicConfig = RicConfig()
    eval: EvalConfig = EvalConfig()
    soups: SoupsConfig = SoupsConfig()
    full_sft: FullSftConfig = FullSftConfig()
    morlhf: MorlhfConfig = MorlhfConfig()
    modpo: ModpoConfig = ModpoConfig()
    executor: str = "local"
    ray: RayConfig = RayConfig()

    def __post_init__(self):
        if self.executor not in EXECUTORS:
            raise ValueError(
                f"executor must be one of {', '.join(map(repr, EXECUTORS))} (local: every unit in this process, one "
                f"after another; ray: preferences in parallel as Ray tasks); got {self.executor!r}"
            )

    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))

    def digest(self) -> str:
        """16 hex digits identifying the resolved configuration (what resume compares). The executor settings are
        left out: they say where the units compute, not what, so a run started on one executor resumes on another."""
        values = {k: v for k, v in self.to_dict().items() if k not in _EXECUTION_KEYS}
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def shipped_configs() -> dict[str, str]:
    """Config files shipped with the package, by name (demo, chat_offline_full, ...)."""
    from importlib.resources import files

    folder = files("paretohqd") / "configs"
    return {entry.name.removesuffix(".yaml"): str(entry) for entry in folder.iterdir() if entry.name.endswith(".yaml")}


def config_path(name_or_path: str | Path) -> Path:
    """A config file: the path itself when it exists, else the shipped config of that name."""
    shipped = shipped_configs()
    if not Path(name_or_path).exists() and str(name_or_path) in shipped:
        return Path(shipped[str(name_or_path)])
    return Path(name_or_path)


def read_config(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """The raw mapping of a YAML config file. A file may start from another one with `extends: NAME_OR_PATH` (a
    shipped config's name, or a path relative to the file): its keys are merged over the other file's, section by
    section, so that a method's config says only what differs from the run it is compared with."""
    path = config_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no config file {path}")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a config must be a mapping of keys to values; got {type(raw).__name__}")
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ValueError(f"{path}: extends must be a config name or path; got {parent!r}")
    local = path.parent / parent
    base = local if local.is_file() else config_path(parent)
    if base.resolve() in _seen or base.resolve() == path.resolve():
        raise ValueError(f"{path}: extends {parent!r} loops back to a config that extends it")
    return _merge(read_config(base, (*_seen, path.resolve())), raw)


def _merge(base: dict, update: dict) -> dict:
    """`update` over `base`, recursively for mappings; any other value replaces the base's."""
    merged = dict(base)
    for key, value in update.items():
        both = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merge(merged[key], value) if both else value
    return merged


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> RunConfig:
    """The RunConfig of a YAML file or shipped config name (or the defaults), with `section.key=value` overrides
    (values parsed as YAML)."""
    raw: dict = {} if path is None else read_config(path)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override {item!r} must look like section.key=value")
        target = raw
        *parents, leaf = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ValueError(f"override {item!r}: {part!r} is not a section")
        target[leaf] = yaml.safe_load(value)
    config = build(RunConfig, raw, "config")
    if config.method not in METHODS:
        raise ValueError(f"config.method: unknown method {config.method!r}; known: {', '.join(METHODS)}")
    return config


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False)


def build(cls, raw, where: str):
    """Instantiate dataclass `cls` from a mapping, recursively, checking keys and value types."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping; got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(names)}")
    values = {name: _convert(hints[name], raw[name], f"{where}.{name}") for name in names if name in raw}
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _convert(hint, value, where: str):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _convert(option, value, where)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of {hint}")
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where} must be a list; got {value!r}")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ValueError(f"{where} must have {len(args)} entries; got {value!r}")
        return tuple(_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where} must be a mapping; got {value!r}")
        return dict(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):
        # YAML 1.1 reads 2e-5 (no dot) as a string; accept what Python reads as a number.
        try:
            return float(value)
        except ValueError:
            pass
    if hint in (int, float, str, bool):
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            raise ValueError(f"{where} must be {hint.__name__}; got {value!r}")
        return value
    raise ValueError(f"{where}: unsupported type {hint}")


def _plain(value):
    """Tuples to lists, recursively, so that YAML and JSON dumps stay plain."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
