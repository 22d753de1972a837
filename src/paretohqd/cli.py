"""The `paretohqd` command."""

from __future__ import annotations

import argparse
import sys

from paretohqd import __version__


def _demo(args: argparse.Namespace) -> int:
    from paretohqd.demo import run_demo

    run_demo(n_samples=args.samples, k=args.k, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paretohqd",
        description="Offline multi-objective alignment with Pareto high-quality data (ParetoHqD).",
    )
    parser.add_argument("--version", action="version", version=f"paretohqd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="run the offline default",
        description="Run the offline default: ParetoHqD selection on a scored reward pool, one set per preference.",
    )
    demo.add_argument("--samples", type=int, default=600, help="pool size (default: %(default)s)")
    demo.add_argument("--k", type=int, default=40, help="samples selected per preference (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
