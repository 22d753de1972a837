"""The embedded chat-offline pool: SmolLM2-135M-Instruct's own answers to the chatterbot-corpus training prompts.

The pool is generated once (`build_chat_pool`, `paretohqd build-pool`) and shipped with the package, so the default
run does not regenerate it. To span the trade-offs between the chat objectives (relevance, brevity, positivity), each
prompt is answered in several *styles*: a system instruction plus sampling settings. Only the user prompt is kept
as the sample's prompt: the styles shape the responses, not what a trained model is asked. Responses that hit the
token cap are trimmed to their last complete sentence (dropped if they have none); degenerate ones and mere echoes
of the prompt (a perfect relevance score without an answer) are dropped.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

import pandas as pd

from paretohqd.files import write_text_atomic
from paretohqd.text import clean_generation

log = logging.getLogger(__name__)

POOL_FILE = "chat_offline_pool.jsonl.gz"
META_FILE = "chat_offline_pool.json"


@dataclass(frozen=True)
class Style:
    """One way of answering: an optional system instruction and sampling settings."""

    name: str
    system: str | None
    temperature: float
    max_new_tokens: int
    top_p: float = 0.9


STYLES = (
    Style("plain", None, temperature=0.7, max_new_tokens=72),
    Style("brief", "Answer in one short sentence.", temperature=0.7, max_new_tokens=40),
    Style("detailed", "Give a detailed answer with explanations and examples.", temperature=0.9, max_new_tokens=88),
    Style("warm", "You are a warm, cheerful and encouraging friend.", temperature=0.9, max_new_tokens=64),
)


def shipped_pool_dir() -> Path:
    """The package folder holding the shipped pool files."""
    return Path(str(files("paretohqd.data") / "files"))


def build_chat_pool(
    prompts: list[str],
    *,
    model: str | None = None,
    styles: tuple[Style, ...] = STYLES,
    seed: int = 0,
    batch_size: int = 32,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Generate one response per prompt and style; returns (samples, report).

    samples: columns prompt, response, style. report: the settings and, per style, how many generations were made,
    trimmed at a sentence end, and dropped.
    """
    from paretohqd.generate import GenerationConfig, format_prompts, generate
    from paretohqd.models import EMBEDDED_MODEL, ModelConfig, load_model, load_tokenizer

    config = ModelConfig(model or EMBEDDED_MODEL)
    lm, tokenizer = load_model(config), load_tokenizer(config)
    rows, report = [], {"model": config.name_or_path, "seed": seed, "prompts": len(prompts), "styles": {}}
    for index, style in enumerate(styles):
        settings = GenerationConfig(
            style.max_new_tokens, style.temperature, style.top_p, batch_size, seed + 1000 * index
        )
        out = generate(lm, tokenizer, format_prompts(tokenizer, prompts, True, style.system), settings, progress)
        kept = 0
        for prompt, text, capped in zip(prompts, out.texts, out.capped, strict=True):
            response = clean_generation(prompt, text, bool(capped))
            if response is not None:
                rows.append({"prompt": prompt, "response": response, "style": style.name})
                kept += 1
        report["styles"][style.name] = {
            **asdict(style),
            "generated": len(prompts),
            "capped_and_trimmed": int(out.capped.sum()),
            "dropped": len(prompts) - kept,
            "tokens_per_second": round(out.tokens_per_second, 1),
        }
        log.info("style %s: kept %d of %d (%.0f tokens/s)", style.name, kept, len(prompts), out.tokens_per_second)
    return pd.DataFrame(rows, columns=["prompt", "response", "style"]), report


def write_chat_pool(samples: pd.DataFrame, report: dict, folder: str | os.PathLike) -> Path:
    """Write the pool as gzipped JSON lines plus a JSON report of its settings; returns the pool file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in samples.to_dict("records"))
    tmp = folder / f".{POOL_FILE}.tmp"
    # mtime=0: the same pool gives the same bytes.
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
        handle.write(lines.encode())
    os.replace(tmp, folder / POOL_FILE)
    write_text_atomic(folder / META_FILE, json.dumps({**report, "samples": len(samples)}, indent=1) + "\n")
    return folder / POOL_FILE


def load_chat_pool(folder: str | os.PathLike | None = None) -> pd.DataFrame:
    """The chat-offline pool (prompt, response, style), from `folder` or the copy shipped with the package."""
    path = Path(folder or shipped_pool_dir()) / POOL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no chat-offline pool at {path}; build one with `paretohqd build-pool`")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return pd.DataFrame([json.loads(line) for line in handle], columns=["prompt", "response", "style"])
