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

from paretohqd.generate import GenerationConfig
from paretohqd.models import EMBEDDED_MODEL, ModelConfig
from paretohqd.train import LoraSettings, TrainSettings

METHODS = ("paretohqd",)


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
class RunConfig:
    """Everything a run needs. preferences: explicit weight vectors, or None for the paper's grid; divisions: use
    the simplex lattice with this many divisions instead. data: keyword options for the task's loaders (e.g.
    source=a local copy of the dataset)."""

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
    eval: EvalConfig = EvalConfig()

    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))

    def digest(self) -> str:
        """16 hex digits identifying the resolved configuration (what resume compares)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> RunConfig:
    """The RunConfig of a YAML file (or the defaults), with `section.key=value` overrides (values parsed as YAML)."""
    raw: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no config file {path}")
        raw = yaml.safe_load(path.read_text()) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: a config must be a mapping of keys to values; got {type(raw).__name__}")
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
