"""The headline comparison: ParetoHqD against RiC, Rewarded Soups, MORLHF, MODPO and the ablations on the offline
default (chat-offline, SmolLM2-135M-Instruct, the shipped pool), with the same base model, pool, preference grid,
eval prompts and eval sampling seed for every method; repeated over seeds.

Every (method, seed) is a normal run folder made from the shipped configs (demo.yaml and demo_<method>.yaml) with
the seed set for selection, training, generation and online rounds; the eval sampling seed stays fixed, so that
models are compared on paired samples. Run folders resume: an interrupted benchmark continues where it stopped.
Per seed, the runs are compared with `paretohqd.report.compare_runs` (joint min-max normalisation over every
evaluated point of that seed, base model included; raw reference point at the per-objective minimum) and the
per-seed numbers are summarised as mean and spread (sample std) over seeds. Compute is the run's training cost
(every unit but evaluation), from the unit markers.

Usage:
  python benchmarks/alignment_bench.py [--seeds 0 1] [--methods paretohqd ric ...] [--objectives 2|3]
                                       [--out benchmarks/runs] [--threads 2] [--quick] [--no-write]
                                       [--set train.steps=20 ... --variant NAME]
A full 2-objective seed of all 8 methods takes about 3 h on 2 otherwise idle CPU cores (measured, with evaluation:
ParetoHqD 14 min, RiC 43 min, MODPO 31 min, MORLHF about 40 min; the full-pool SFT ablation costs about as much as
RiC's offline epoch). A 3-objective seed (13 preferences) of paretohqd, ric, soups, scalarized and stage1_only takes
about 2.8 h (ParetoHqD 33 min, RiC 59 min, Soups 18 min, scalarized 32 min, stage1_only 24 min); --quick is a
smoke check of the whole loop (minutes). Other work on the machine distorts the timings badly (torch's threads spin
while they wait for a core): run nothing else alongside.
A method's own knobs are tried with --set and --variant (and --no-write): e.g. `--objectives 3 --methods paretohqd
--set train.steps=20 --variant steps20 --no-write` runs paretohqd-3obj-steps20-s0 next to the headline runs, to be
compared with `paretohqd compare`.
Writes benchmarks/results/alignment[-3obj].json, benchmarks/results/alignment[-3obj]_front.png (seed 0's fronts)
and its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from paretohqd.config import load_config
from paretohqd.evaluate import load_eval
from paretohqd.plots import plot_fronts
from paretohqd.report import compare_runs, load_runs
from paretohqd.workflow import run_pipeline
from results_md import replace_readme_block, replace_section

HERE = Path(__file__).resolve().parent
METHODS = ("paretohqd", "ric", "soups", "scalarized", "full_sft", "stage1_only", "morlhf", "modpo")
# A smoke check of every code path with the real model: tiny budgets everywhere.
QUICK = (
    "train.steps=2",
    "selection.k=8",
    "stage2.prompts=12",
    "stage2.k=4",
    "stage2.steps=1",
    "eval.prompts=8",
    "ric.steps=2",
    "ric.online_rounds=1",
    "ric.online_prompts=8",
    "ric.online_steps=1",
    "full_sft.steps=2",
    "soups.steps=2",
    "morlhf.steps=1",
    "morlhf.prompts=4",
    "morlhf.batch_size=2",
    "morlhf.num_generations=2",
    "modpo.steps=2",
)
THREE_OBJECTIVES = ("objectives=[relevance, brevity, positivity]", "preferences=null")


def method_config(method: str, seed: int, objectives: int, quick: bool, threads: int, knobs=(), variant=None):
    """The run config of one (method, seed): the shipped demo config of that method with the seed applied, and
    `knobs` (config overrides such as "train.steps=20") on top for a named `variant` of the method."""
    suffix = f"{'-3obj' if objectives == 3 else ''}{'-quick' if quick else ''}{f'-{variant}' if variant else ''}"
    overrides = [
        f"name={method}{suffix}-s{seed}",
        f"seed={seed}",
        f"train.seed={seed}",
        f"stage2.generation.seed={seed}",
        f"ric.generation.seed={seed}",
        f"threads={threads}",
        # The base model answers the same prompts with the same sampling seed in every run: evaluate it once.
        f"eval.base={str(method == 'paretohqd').lower()}",
        *(THREE_OBJECTIVES if objectives == 3 else ()),
        *(QUICK if quick else ()),
        *knobs,
    ]
    return load_config("demo" if method == "paretohqd" else f"demo_{method}", overrides)


def run_seed(seed: int, methods, args) -> list[Path]:
    """Train and evaluate every method for one seed (resuming finished units); the run folders."""
    folders = []
    for method in methods:
        config = method_config(method, seed, args.objectives, args.quick, args.threads, args.set, args.variant)
        print(f"=== {config.name}", flush=True)
        start = time.perf_counter()
        run = run_pipeline(config, out=args.out)
        print(f"=== {config.name}: {time.perf_counter() - start:.0f} s this invocation", flush=True)
        folders.append(run.root)
    return folders


def seed_numbers(folders: list[Path]) -> tuple[dict, object]:
    """Per method, the metrics of one seed's runs compared together; and the comparison itself."""
    comparison = compare_runs(load_runs(folders))
    numbers = {}
    for result, entry in zip(comparison.runs, comparison.to_dict()["methods"], strict=True):
        training = entry["training"]
        numbers[entry["method"]] = {
            "run": Path(entry["run"]).name,
            "hypervolume": entry["hypervolume"],
            "raw_hypervolume": entry["raw_hypervolume"],
            "n_non_dominated": entry["n_non_dominated"],
            "preference_models": entry["preference_models"],
            "collapse_rate": entry["collapse_rate"],
            "wall_seconds": training["wall_seconds"],
            "cpu_seconds": training["cpu_seconds"],
            "gpu_seconds": training["gpu_seconds"],
            "steps": training["steps"],
            "samples_seen": training["samples_seen"],
            "generations": training["generations"],
            "stages": _stages(Path(entry["run"])),
            "points": [
                {
                    "label": p["label"],
                    "preference": p["preference"],
                    "mean": p["mean"],
                    "new_tokens": _mean_new_tokens(result.run, p["label"]),
                }
                for p in entry["points"]
            ],
        }
    base = next((r for r in comparison.runs if r.base is not None), None)
    meta = {
        "base": None
        if base is None
        else {"mean": list(base.base.mean), "new_tokens": _mean_new_tokens(base.run, base.base.label)},
        "bounds": comparison.bounds.to_dict(),
        "raw_reference": comparison.reference.tolist(),
        "normalised_reference": [0.0] * len(comparison.objectives),
    }
    return {"methods": numbers, **meta}, comparison


def _mean_new_tokens(run, label: str) -> float | None:
    """The mean length (new tokens) of a model's evaluation answers; None for a run saved without lengths."""
    answers = load_eval(run, label)
    return round(float(answers["new_tokens"].mean()), 1) if "new_tokens" in answers else None


def _stages(root: Path) -> dict:
    """Wall and CPU seconds of each training stage of a run (evaluation left out)."""
    from paretohqd.runs import Run

    stages = Run.open(root).compute()["stages"]
    return {
        name: {"wall_seconds": round(row["wall_seconds"], 1), "cpu_seconds": round(row["cpu_seconds"], 1)}
        for name, row in stages.items()
        if name != "eval"
    }


def summarize(per_seed: dict, methods) -> dict:
    """Mean and sample std over seeds of each method's numbers; the wall-time and HV ratios to RiC."""
    keys = ("hypervolume", "raw_hypervolume", "collapse_rate", "n_non_dominated", "wall_seconds", "cpu_seconds")
    summary = {}
    for method in methods:
        rows = [seed["methods"][method] for seed in per_seed.values() if method in seed["methods"]]
        summary[method] = {"seeds": len(rows)}
        for key in keys:
            values = np.array([row[key] for row in rows], dtype=float)
            summary[method][key] = {
                "mean": float(values.mean()),
                "std": float(values.std(ddof=1)) if len(values) > 1 else None,
            }
    if "paretohqd" in summary and "ric" in summary:
        pairs = [s["methods"] for s in per_seed.values() if {"paretohqd", "ric"} <= set(s["methods"])]
        hv = [p["paretohqd"]["hypervolume"] / p["ric"]["hypervolume"] for p in pairs if p["ric"]["hypervolume"] > 0]
        wall = [p["paretohqd"]["wall_seconds"] / p["ric"]["wall_seconds"] for p in pairs]
        summary["paretohqd_vs_ric"] = {
            "hv_ratio_per_seed": hv,
            "wall_ratio_per_seed": wall,
            "target": "HV >= 1.1x RiC's at <= 40% of RiC's wall time",
            "met": bool(hv and wall and min(hv) >= 1.1 and max(wall) <= 0.4),
        }
    return summary


def _fmt(stat: dict, digits: int = 3) -> str:
    if stat["std"] is None:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def _method_rows(summary: dict):
    return ((method, row) for method, row in summary.items() if method != "paretohqd_vs_ric")


def _versus(summary: dict) -> list[str]:
    """The ParetoHqD/RiC ratios per seed and whether the target is met (no lines without both methods)."""
    versus = summary.get("paretohqd_vs_ric")
    if not versus:
        return []
    hv = ", ".join(f"{x:.2f}×" for x in versus["hv_ratio_per_seed"])
    wall = ", ".join(f"{x:.0%}" for x in versus["wall_ratio_per_seed"])
    verdict = "met" if versus["met"] else "not met"
    return ["", f"ParetoHqD vs RiC per seed: HV {hv}; wall time {wall}. Target ({versus['target']}): {verdict}."]


def markdown(result: dict, command: str, plot: str | None) -> str:
    summary, seeds = result["summary"], result["seeds"]
    objectives = result["objectives"]
    heading = f"## Alignment comparison, {len(objectives)} objectives (`benchmarks/alignment_bench.py`)"
    lines = [
        heading,
        "",
        f"Command: `{command}`  ",
        f"Machine: {result['machine']}. Task chat-offline, objectives {', '.join(objectives)} (all maximised); "
        f"seeds {', '.join(map(str, seeds))}; {result['eval_prompts']} eval prompts with the same sampling seed for "
        "every model. HV: per seed, every method's preference-model points and the base model's point are min-max "
        "normalised together and the hypervolume is taken w.r.t. the origin (the per-objective minimum); raw HV "
        "w.r.t. the raw per-objective minimum over the same points (both printed per seed below). Training "
        "seconds: every unit of the run but evaluation. Mean ± sample std over seeds.",
        "",
        "| method | HV (normalised) | raw HV | non-dominated | collapse | training wall s | training CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    for method, row in _method_rows(summary):
        lines.append(
            f"| {method} | {_fmt(row['hypervolume'])} | {_fmt(row['raw_hypervolume'], 4)} | "
            f"{_fmt(row['n_non_dominated'], 1)} | {_fmt(row['collapse_rate'])} | {_fmt(row['wall_seconds'], 0)} | "
            f"{_fmt(row['cpu_seconds'], 0)} |"
        )
    lines += _versus(summary)
    lines += ["", "Per seed (bounds: lower/upper per objective; reference: raw):", ""]
    for seed, data in seeds.items():
        bounds = data["bounds"]
        cells = ", ".join(
            f"{name} [{lo:.4f}, {hi:.4f}]"
            for name, lo, hi in zip(objectives, bounds["lower"], bounds["upper"], strict=True)
        )
        ref = ", ".join(f"{x:.4f}" for x in data["raw_reference"])
        hvs = ", ".join(f"{m} {row['hypervolume']:.3f}" for m, row in data["methods"].items())
        lines.append(f"- seed {seed}: bounds {cells}; raw reference ({ref}); HV {hvs}")
    lines += _placement(result)
    if plot:
        lines += ["", f"![fronts of seed {next(iter(seeds))}]({plot})"]
    return "\n".join(lines) + "\n"


def _placement(result: dict) -> list[str]:
    """Where each method's models sit, per preference, for the first seed: the eval means and the mean answer
    length. The HV says how good a front is; this says whether the models spread along it."""
    seed, data = next(iter(result["seeds"].items()))
    methods = list(data["methods"])
    preferences = []
    for row in data["methods"].values():
        for point in row["points"]:
            if point["preference"] not in preferences:
                preferences.append(point["preference"])
    lines = [
        "",
        f"Per preference, seed {seed}: eval means ({', '.join(result['objectives'])}) and mean answer length in new "
        "tokens.",
        "",
        "| preference | " + " | ".join(methods) + " |",
        "|---" * (len(methods) + 1) + "|",
    ]
    for preference in preferences:
        cells = []
        for method in methods:
            point = next((p for p in data["methods"][method]["points"] if p["preference"] == preference), None)
            cells.append("" if point is None else _placed(point))
        lines.append(f"| ({', '.join(f'{w:.3g}' for w in preference)}) | " + " | ".join(cells) + " |")
    if data.get("base"):
        lines += ["", f"Base model: {_placed(data['base'])}."]
    return lines


def _placed(point: dict) -> str:
    """A model's eval means and, where known, its mean answer length: "(0.55, 0.88) · 9"."""
    length = "" if point.get("new_tokens") is None else f" · {point['new_tokens']:.0f}"
    return "(" + ", ".join(f"{x:.2f}" for x in point["mean"]) + ")" + length


def readme_summary(result: dict, plot: str) -> str:
    """The README's short version: one row per method (mean ± std over seeds) and the front plot of the first seed."""
    summary, seeds = result["summary"], result["seeds"]
    lines = [
        f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}, {result['eval_prompts']} eval prompts, "
        f"objectives {', '.join(result['objectives'])}; "
        "HV normalised jointly per seed (base model included, reference at the minimum); training time: every unit "
        "but evaluation, on 2 CPU threads. Details and per-seed numbers: `benchmarks/RESULTS.md`.",
        "",
        "| method | HV | non-dominated models | collapse | training wall (min) |",
        "|---|---|---|---|---|",
    ]
    for method, row in _method_rows(summary):
        minutes = {key: None if v is None else v / 60 for key, v in row["wall_seconds"].items()}
        lines.append(
            f"| {method} | {_fmt(row['hypervolume'])} | {_fmt(row['n_non_dominated'], 1)} | "
            f"{_fmt(row['collapse_rate'], 2)} | {_fmt(minutes, 1)} |"
        )
    lines += _versus(summary)
    lines += ["", f"![fronts of seed {next(iter(seeds))}](benchmarks/{plot})"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--objectives", type=int, default=2, choices=(2, 3))
    parser.add_argument("--out", default=str(HERE / "runs"), help="folder of the run folders (resumable)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke check of the whole loop")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md and results/")
    parser.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="config overrides for every method, e.g. train.steps=20 (a method's own knobs); needs --variant",
    )
    parser.add_argument("--variant", help="name of the --set variant: its runs are <method>[-3obj]-<variant>-s<seed>")
    args = parser.parse_args(argv)
    if bool(args.set) != bool(args.variant):
        parser.error("--set and --variant go together: a variant's runs need their own folders")
    if args.set and not args.no_write:
        parser.error(
            "a --set variant is not the headline comparison: add --no-write (compare its runs with `paretohqd compare`)"
        )
    per_seed, comparisons = {}, {}
    for seed in args.seeds:
        folders = run_seed(seed, args.methods, args)
        per_seed[str(seed)], comparisons[seed] = seed_numbers(folders)
    first = comparisons[args.seeds[0]]
    result = {
        "command": " ".join(["python benchmarks/alignment_bench.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": f"{platform.machine()}, {args.threads} torch threads, Python {platform.python_version()}",
        "objectives": list(first.objectives),
        "eval_prompts": first.runs[0].points[0].n,
        "quick": args.quick,
        "seeds": per_seed,
        "summary": summarize(per_seed, args.methods),
    }
    print(json.dumps(result["summary"], indent=1))
    if args.no_write:
        return 0
    suffix = ("-3obj" if args.objectives == 3 else "") + ("-quick" if args.quick else "")
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"alignment{suffix}.json").write_text(json.dumps(result, indent=1) + "\n")
    plot = plot_fronts(list(first.runs), results / f"alignment{suffix}_front.png")
    if not args.quick:
        replace_section(
            markdown(result, result["command"], None).split("\n", 1)[0],
            markdown(result, result["command"], f"results/{plot.name}"),
        )
        replace_readme_block(f"alignment{suffix}", readme_summary(result, f"results/{plot.name}"))
    print(f"Wrote {results / f'alignment{suffix}.json'} and {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
