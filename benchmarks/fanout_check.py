"""The fan-out simulation checked against a real Ray run: a small ParetoHqD run of the offline default (SmolLM2, K
preferences, small budgets) on a local Ray instance with G CPU slots (one task per slot, one torch thread each);
then `paretohqd.schedule.simulate` is given that run's own per-unit wall seconds (from its unit markers) and G
devices, and its makespan is set beside the measured one.

Measured: the span from the first unit's start to the last unit's end (unit markers record both), and the driver's
wall time around `run_pipeline` (which adds Ray's task start-up and the driver's own work). The difference between
the simulated and the measured span is what the simulation leaves out: task start-up and the scheduler's choices.

Usage: python benchmarks/fanout_check.py [--devices 2] [--k 5] [--out benchmarks/runs] [--no-write]
Takes about 5 minutes on 2 cores. Writes benchmarks/results/fanout_check.json and its section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from paretohqd.config import load_config
from paretohqd.schedule import measured_tasks, simulate, unit_spans
from paretohqd.workflow import run_pipeline
from results_md import publish

HERE = Path(__file__).resolve().parent
# Small budgets: every unit runs, each a few tens of seconds on one thread.
BUDGET = (
    "train.steps=6",
    "selection.k=8",
    "stage2.prompts=16",
    "stage2.k=4",
    "stage2.steps=3",
    "eval.prompts=12",
)


def check_config(k: int):
    preferences = [[round(i / (k - 1), 4), round(1 - i / (k - 1), 4)] for i in range(k)]
    overrides = [
        "name=fanout-check",
        "executor=ray",
        "ray.cpus_per_task=1",
        "threads=1",
        f"preferences={json.dumps(preferences)}",
        *BUDGET,
    ]
    return load_config("demo", overrides)


def markdown(result: dict) -> str:
    m, s = result["measured"], result["simulated"]
    gap = (m["unit_span_seconds"] - s["makespan_seconds"]) / s["makespan_seconds"]
    return (
        "\n".join(
            [
                "## Fan-out simulation checked against Ray (`benchmarks/fanout_check.py`)",
                "",
                f"Command: `{result['command']}`  ",
                f"A ParetoHqD run of the offline default with {result['k']} preferences and small budgets "
                f"({', '.join(f'`{o}`' for o in BUDGET)}) on a local Ray instance with {result['devices']} CPU slots "
                "(one task per slot, one torch thread each); the simulation gets that run's own per-unit wall seconds.",
                "",
                "| | seconds |",
                "|---|---|",
                f"| simulated makespan on 1 device | {s['serial_seconds']:.1f} |",
                f"| simulated makespan on {result['devices']} devices | {s['makespan_seconds']:.1f} |",
                f"| measured: first unit start to last unit end | {m['unit_span_seconds']:.1f} |",
                f"| measured: driver wall around `run_pipeline` | {m['driver_seconds']:.1f} |",
                f"| `ray.init` | {m['ray_init_seconds']:.1f} |",
                "",
                f"The measured span is {gap:+.1%} off the simulated makespan; units started on average "
                f"{result['mean_start_difference_seconds']:.1f} s away from their simulated start. What the "
                "simulation leaves out: Ray's start-up of each task (a new worker imports torch and paretohqd before "
                "its unit starts), and `pool-2`/`select-2` holding a slot as a Ray task where the simulation counts "
                "them as driver work. Per-unit timelines, measured and simulated: `results/fanout_check.json`.",
            ]
        )
        + "\n"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=2, help="Ray CPU slots (one task each)")
    parser.add_argument("--k", type=int, default=5, help="preferences")
    parser.add_argument("--out", type=Path, default=HERE / "runs")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.k < 2 or args.devices < 1:
        parser.error("need --k >= 2 and --devices >= 1")
    import ray

    config = check_config(args.k)
    shutil.rmtree(args.out / config.name, ignore_errors=True)  # a fresh run: every unit is measured
    start = time.perf_counter()
    ray.init(num_cpus=args.devices, include_dashboard=False)
    ray_init = time.perf_counter() - start
    start = time.perf_counter()
    run = run_pipeline(config, out=args.out)
    driver = time.perf_counter() - start
    ray.shutdown()
    tasks = measured_tasks(run.root)
    spans = unit_spans(run.root)
    zero = min(start for start, _ in spans.values())
    schedule = simulate(tasks, args.devices)
    timeline = {
        name: {
            "measured": [round(start - zero, 2), round(end - zero, 2)],
            "simulated": [round(schedule.slots[name][0], 2), round(schedule.slots[name][1], 2)],
            "simulated_device": schedule.slots[name][2],
        }
        for name, (start, end) in sorted(spans.items(), key=lambda item: item[1])
    }
    differences = [abs(row["measured"][0] - row["simulated"][0]) for row in timeline.values()]
    result = {
        "command": " ".join(["python benchmarks/fanout_check.py", *(argv if argv is not None else sys.argv[1:])]),
        "k": args.k,
        "devices": args.devices,
        "simulated": {
            "makespan_seconds": schedule.makespan,
            "serial_seconds": simulate(tasks, 1).makespan,
        },
        "mean_start_difference_seconds": sum(differences) / len(differences),
        "timeline": timeline,
        "measured": {
            "unit_span_seconds": max(end for _, end in spans.values()) - zero,
            "driver_seconds": driver,
            "ray_init_seconds": ray_init,
        },
    }
    print(markdown(result))
    if not args.no_write:
        publish("fanout_check", result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
