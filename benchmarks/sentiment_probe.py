"""Does a model's answer positivity follow the prompt's? A probe of finished 3-objective runs (chat-offline with
positivity), behind the analysis in RESULTS.md: the positivity scorer (VADER) is applied to the eval prompts and to
the prompts of each preference's selected training samples, and per preference model it prints

- the mean positivity of its eval answers, the correlation of answer and prompt positivity over the eval prompts,
  and the share of neutral answers (|compound| < 0.05);
- per selection stage, the share of positive prompts (compound > 0.05) and the mean positivity of the answers.

Usage:
  python benchmarks/sentiment_probe.py benchmarks/runs/paretohqd-3obj-s0 [more run folders]
Reads the run folders only; writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from paretohqd.evaluate import load_eval
from paretohqd.report import load_run
from paretohqd.rewards import load_reward

NEUTRAL = 0.05


def probe(root: Path, scorer) -> list[str]:
    """The markdown table of one run folder."""
    result = load_run(root)
    if "positivity" not in result.objectives:
        raise SystemExit(f"{root}: positivity is not among the run's objectives {list(result.objectives)}")
    models = ([result.base] if result.base is not None else []) + list(result.points)
    prompts = list(load_eval(result.run, models[0].label)["prompt"])
    prompt_positivity = scorer.score(prompts, prompts)
    lines = [
        f"{root.name}: {np.mean(prompt_positivity > NEUTRAL):.0%} of {len(prompts)} eval prompts positive, "
        f"{np.mean(np.abs(prompt_positivity) < NEUTRAL):.0%} neutral",
        "",
        "| model | preference | answer positivity | corr. with prompt | neutral answers | selections: positive "
        "prompts, answer positivity |",
        "|---|---|---|---|---|---|",
    ]
    for model in models:
        answers = load_eval(result.run, model.label)
        if list(answers["prompt"]) != prompts:
            raise ValueError(f"{root}: {model.label} was evaluated on other prompts than {models[0].label}")
        positivity = answers["positivity"].to_numpy(dtype=float)
        corr = np.corrcoef(prompt_positivity, positivity)[0, 1]
        stages = []
        for stage in sorted((root / "selections").glob(f"*/{model.label}.jsonl")):
            chosen = pd.read_json(stage, lines=True)
            chosen_prompts = scorer.score(list(chosen["prompt"]), list(chosen["prompt"]))
            stages.append(
                f"{stage.parent.name} {np.mean(chosen_prompts > NEUTRAL):.0%}, {chosen['positivity'].mean():.2f}"
            )
        weights = model.preference
        shown = "-" if weights is None else "(" + ", ".join(f"{w:.2g}" for w in weights) + ")"
        lines.append(
            f"| {model.label} | {shown} | {positivity.mean():.2f} | {corr:.2f} | "
            f"{np.mean(np.abs(positivity) < NEUTRAL):.0%} | {'; '.join(stages) or '-'} |"
        )
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="finished run folders with positivity among objectives")
    args = parser.parse_args(argv)
    scorer = load_reward("positivity", progress=False)
    for root in args.runs:
        print("\n".join(probe(root, scorer)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
