"""The `paretohqd` command."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from paretohqd import __version__
from paretohqd.config import shipped_configs


def _run(args: argparse.Namespace) -> int:
    from paretohqd.config import load_config
    from paretohqd.workflow import run_pipeline

    config = load_config(args.config, args.set or [])
    run_pipeline(config, out=args.out, force=args.force, stop_after=getattr(args, "stop_after", None))
    return 0


def _demo(args: argparse.Namespace) -> int:
    args.config = "demo"
    return _run(args)


def _eval(args: argparse.Namespace) -> int:
    from paretohqd.workflow import evaluate_run

    evaluate_run(args.run)
    return 0


def _select(args: argparse.Namespace) -> int:
    from paretohqd.config import load_config
    from paretohqd.workflow import run_pipeline

    config = load_config(args.config, args.set or [])
    run_pipeline(config, out=args.out, force=args.force, stop_after="select-1")
    return 0


def _build_pool(args: argparse.Namespace) -> int:
    import torch

    from paretohqd.data import chatterbot_prompts
    from paretohqd.data.embedded import build_chat_pool, shipped_pool_dir, write_chat_pool

    torch.set_num_threads(args.threads)
    prompts = chatterbot_prompts("train")[: args.limit]
    samples, report = build_chat_pool(prompts, model=args.model, seed=args.seed, batch_size=args.batch_size)
    path = write_chat_pool(samples, report, args.out or shipped_pool_dir())
    print(f"Wrote {len(samples)} samples for {len(prompts)} prompts to {path}")
    return 0


def _score(args: argparse.Namespace) -> int:
    import torch

    from paretohqd.data import get_task, load_samples
    from paretohqd.data.scoring import score_pool

    torch.set_num_threads(args.threads)
    if (args.task is None) == (args.input is None):
        raise SystemExit("paretohqd score: give exactly one of --task or --input")
    if args.task is not None:
        task = get_task(args.task, args.objectives)
        samples = task.load_pool(**({"source": args.source} if args.source else {}))
        objectives = task.objectives
    else:
        if not args.objectives:
            raise SystemExit("paretohqd score: --input needs --objectives (reward names)")
        samples = load_samples(
            args.input, split=args.split, prompt_column=args.prompt_column, response_column=args.response_column
        )
        objectives = tuple(args.objectives)
    if args.executor == "ray":
        from paretohqd.data.ray_scoring import score_pool_ray

        pool = score_pool_ray(
            samples, objectives, args.out, actors=args.actors, batch_size=args.batch_size, address=args.ray_address
        )
    else:
        pool = score_pool(samples, objectives, args.out, chunk_size=args.chunk_size)
    print(f"Scored pool: {len(pool.frame)} samples x {len(objectives)} objectives -> {pool.path}")
    print(f"{'objective':>12} {'mean':>9} {'std':>9} {'min':>9} {'max':>9}")
    for name, row in pool.stats().items():
        print(f"{name:>12} {row['mean']:9.4f} {row['std']:9.4f} {row['min']:9.4f} {row['max']:9.4f}")
    _print_conflict(pool)
    return 0


def _print_conflict(pool) -> None:
    """How much the objectives conflict on the pool: rank correlations and the size of the first front."""
    import numpy as np

    from paretohqd.pareto import pareto_ranks

    names = list(pool.objectives)
    corr = pool.frame[names].corr(method="spearman")
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            print(f"Spearman correlation {a} vs {b}: {corr.loc[a, b]:+.3f}")
    ranks = pareto_ranks(pool.rewards)
    sizes = np.bincount(ranks)
    print(f"Pareto layers: {sizes.size}; first front: {sizes[0]} samples; first three: {sizes[:3].tolist()}")


def _report(args: argparse.Namespace) -> int:
    from paretohqd.report import compare_runs, load_runs, write_report

    comparison = compare_runs(load_runs(args.runs), args.reference)
    files = write_report(comparison, args.out, pool_preference=args.pool_preference)
    print(f"Report: {files.html}")
    written = (files.markdown, files.metrics, files.front, files.pool)
    print(f"Also in {files.folder}: {', '.join(path.name for path in written if path)}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from paretohqd.report import compare_runs, format_comparison, load_runs, write_report

    if len(args.runs) < 2:
        raise SystemExit("paretohqd compare: give at least two runs (for one run: paretohqd report RUN)")
    comparison = compare_runs(load_runs(args.runs), args.reference)
    print(format_comparison(comparison))
    if args.out is not None:
        print(f"Report: {write_report(comparison, args.out).html}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paretohqd",
        description="Offline multi-objective alignment with Pareto high-quality data (ParetoHqD).",
    )
    parser.add_argument("--version", action="version", version=f"paretohqd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add_run_options(command, config: bool = True):
        if config:
            command.add_argument(
                "config", help=f"a YAML config file, or a shipped one: {', '.join(sorted(shipped_configs()))}"
            )
        command.add_argument(
            "--set",
            action="append",
            metavar="KEY=VALUE",
            help="override a config value, e.g. selection.k=20 (repeatable)",
        )
        command.add_argument("--out", default="runs", help="folder holding run folders (default: %(default)s)")
        command.add_argument(
            "--force", action="store_true", help="start the run over if its folder holds another configuration"
        )

    run = commands.add_parser(
        "run",
        help="run a config end to end (resumes an interrupted run)",
        description="Run a configuration end to end: score the pool, select, train both stages per preference. "
        "Finished units of work are kept: running the same command again resumes.",
    )
    add_run_options(run)
    run.set_defaults(handler=_run)

    demo = commands.add_parser(
        "demo",
        help="run the offline default (configs/demo.yaml)",
        description="Run the offline default end to end on a CPU: chat-offline, SmolLM2-135M-Instruct, shipped pool.",
    )
    add_run_options(demo, config=False)
    demo.set_defaults(handler=_demo)

    evaluate = commands.add_parser(
        "eval",
        help="evaluate a trained run's preference models on held-out prompts",
        description="Generate one response per held-out prompt with every preference model of RUN (and the base "
        "model), score them with the task's rewards and write RUN/eval/<label>.parquet and RUN/eval/points.json. "
        "Finished models are not evaluated again; `paretohqd run` does this as its last step.",
    )
    evaluate.add_argument("run", help="a run folder (OUT/<name> of `paretohqd run`)")
    evaluate.set_defaults(handler=_eval)

    select = commands.add_parser(
        "select",
        help="selection only: per-preference training sets for any trainer",
        description="Score the pool and write the stage-1 ParetoHqD selection of every preference as JSONL "
        "(RUN/selections/stage1/pref-XX.jsonl: prompt, response, rewards, distance to the ray).",
    )
    add_run_options(select)
    select.set_defaults(handler=_select)

    pool = commands.add_parser(
        "build-pool",
        help="regenerate the embedded chat-offline pool",
        description="Answer the chatterbot-corpus training prompts with the base model in several styles and write "
        "the chat-offline pool (gzipped JSON lines plus a JSON report of the settings).",
    )
    pool.add_argument("--out", help="output folder (default: the copy shipped inside the package)")
    pool.add_argument("--model", help="base model (default: the embedded SmolLM2-135M-Instruct)")
    pool.add_argument("--limit", type=int, help="use only the first N training prompts")
    pool.add_argument("--seed", type=int, default=0, help="sampling seed (default: %(default)s)")
    pool.add_argument("--batch-size", type=int, default=32, help="generation batch size (default: %(default)s)")
    pool.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    pool.set_defaults(handler=_build_pool)

    score = commands.add_parser(
        "score",
        help="score a pool with reward models",
        description="Score (prompt, response) samples with the task's (or the named) reward models; writes "
        "OUT/<hash>/pool.parquet and stats.json, the same with either executor. Re-running is a cache hit; an "
        "interrupted local run resumes.",
    )
    score.add_argument("--task", help="task preset whose pool and objectives to use (e.g. chat-offline)")
    score.add_argument("--source", help="the task's data: a hub id or a local file/folder (default: the preset's)")
    score.add_argument("--input", help="your own samples: JSONL/JSON/CSV/parquet file, folder or hub dataset")
    score.add_argument("--split", default="train", help="split of --input (default: %(default)s)")
    score.add_argument("--prompt-column", default="prompt", help="prompt column of --input (default: %(default)s)")
    score.add_argument("--response-column", default="response", help="response column of --input")
    score.add_argument("--objectives", nargs="+", help="reward names (default with --task: the task's)")
    score.add_argument("--out", default="runs/pools", help="output folder (default: %(default)s)")
    score.add_argument("--chunk-size", type=int, default=512, help="samples per resumable chunk (local executor)")
    score.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    score.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: in this process, in resumable chunks; ray: with Ray Data actors that each hold every reward "
        "model, on a GPU each when the cluster has GPUs (same output; default: %(default)s)",
    )
    score.add_argument("--ray-address", help="Ray cluster to join ('auto': this machine's; default: a local one)")
    score.add_argument("--actors", type=int, help="Ray actors that score (default: one per GPU, or per CPU if none)")
    score.add_argument("--batch-size", type=int, default=512, help="samples per Ray actor call (default: %(default)s)")
    score.set_defaults(handler=_score)

    def add_report_options(command):
        command.add_argument(
            "--reference",
            nargs="+",
            type=float,
            metavar="R",
            help="raw-space reference point of the raw hypervolume, one value per objective "
            "(default: the per-objective minimum over every compared point); give it after the RUN folders",
        )

    report = commands.add_parser(
        "report",
        help="front plots, metrics and a markdown + HTML report of evaluated runs",
        description="Read the saved evaluation of one or more runs (nothing is generated again) and write "
        "report.md, a self-contained report.html, metrics.json, front.png and pool.png (the first run's scored pool).",
    )
    report.add_argument("runs", nargs="+", metavar="RUN", help="run folders (one method per run)")
    report.add_argument("--out", help="output folder (default for a single run: RUN/report)")
    report.add_argument(
        "--pool-preference",
        metavar="LABEL",
        help="highlight this preference's stage-1 selection in the pool plot, e.g. pref-02",
    )
    add_report_options(report)
    report.set_defaults(handler=_report)

    compare = commands.add_parser(
        "compare",
        help="compare evaluated runs: HV, raw HV, non-dominated models, collapse, training time",
        description="Print one row per run (method, normalised and raw hypervolume, non-dominated preference "
        "models, collapse rate, training wall/CPU seconds) and the normalisation and reference point used; "
        "with --out, also write the full report there.",
    )
    compare.add_argument("runs", nargs="+", metavar="RUN", help="two or more run folders of the same task")
    compare.add_argument("--out", help="also write the report (markdown, HTML, metrics.json, plots) into this folder")
    add_report_options(compare)
    compare.set_defaults(handler=_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    # transformers 5.24 warns whenever PEFT or TRL read a renamed attribute; the user can do nothing about it.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError) as exc:
        # Bad input (a config, a run folder, an argument): one line that says what, not a traceback.
        print(f"paretohqd {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
