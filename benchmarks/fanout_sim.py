"""Fan-out simulation: the makespan of a ParetoHqD run with K preferences on G devices, from per-unit costs measured
on a real run (`paretohqd.schedule`: the run's task graph, list-scheduled critical path first).

Per-unit cost of a stage: the median wall seconds of that stage's units in the measured run (training a preference
model, one representative's stage-2 generation, evaluating one model; scoring and selection run on the driver).
With --gpu-hours H the costs are scaled so that the K-preference run on one device takes H hours (e.g. the paper's
55.9 GPU-hours for 11 Llama-2-7B preference models), which turns the measured proportions between stages into an
estimate for a cluster.

Usage: python benchmarks/fanout_sim.py --run RUN_FOLDER [--k 5 11] [--devices 1 2 4 8 16] [--gpu-hours 55.9]
       [--cost STAGE=SECONDS ...] [--overlap-eval] [--no-write]
(--cost alone, without --run, plans from your own per-unit costs, e.g. ones measured on your cluster.)
Writes benchmarks/results/fanout.json and its section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from paretohqd.schedule import paretohqd_tasks, simulate, stage_costs
from results_md import publish

HERE = Path(__file__).resolve().parent
STAGES = ("pool", "select-1", "train-1", "generate-2", "pool-2", "select-2", "train-2", "eval")


def representatives(k: int, m: int = 2) -> list[int]:
    """The stage-2 representatives of the paper's K-point grid for M = 2: the two extremes and the middle."""
    return sorted({0, k // 2, k - 1}) if m == 2 else list(range(k))


def simulate_grid(costs: dict, ks, devices, evaluate: bool = True, overlap_eval: bool = False) -> list[dict]:
    """Per (K, G): makespan, speed-up over one device and device utilisation."""
    rows = []
    for k in ks:
        tasks = paretohqd_tasks(k, representatives(k), costs, evaluate=evaluate, overlap_eval=overlap_eval)
        one = simulate(tasks, 1).makespan
        for g in devices:
            schedule = simulate(tasks, g)
            rows.append(
                {
                    "k": k,
                    "devices": g,
                    "makespan_seconds": schedule.makespan,
                    "speedup": one / schedule.makespan,
                    "device_utilisation": schedule.busy() / (g * schedule.makespan),
                }
            )
    return rows


def scaled(costs: dict, k: int, gpu_hours: float) -> dict:
    """`costs` scaled so that training the k preference models (no evaluation) on one device takes gpu_hours."""
    one = simulate(paretohqd_tasks(k, representatives(k), costs, evaluate=False), 1).makespan
    factor = gpu_hours * 3600 / one
    return {stage: seconds * factor for stage, seconds in costs.items()}


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def markdown(result: dict) -> str:
    lines = [
        "## Fan-out simulation (`benchmarks/fanout_sim.py`)",
        "",
        f"Command: `{result['command']}`  ",
        f"Per-unit costs: {_source(result)}: "
        + ", ".join(f"{s} {c:.1f} s" for s, c in result["costs"].items())
        + ". Representatives: the "
        "two extreme preferences and the middle one. Evaluation "
        + (
            "starts per model as soon as it has trained"
            if result.get("overlap_eval")
            else "waits for every model, as the pipeline does"
        )
        + ". Utilisation: device-seconds of work / (devices × makespan).",
        "",
        "| preferences | devices | makespan (with evaluation) | speed-up | utilisation |"
        + (" training makespan (scaled) |" if result.get("scaled") else ""),
        "|---|---|---|---|---|" + ("---|" if result.get("scaled") else ""),
    ]
    scaled_rows = {(r["k"], r["devices"]): r for r in result.get("scaled", {}).get("rows", [])}
    for row in result["rows"]:
        cells = [
            str(row["k"]),
            str(row["devices"]),
            _duration(row["makespan_seconds"]),
            f"{row['speedup']:.2f}×",
            f"{row['device_utilisation']:.0%}",
        ]
        if scaled_rows:
            cells.append(_duration(scaled_rows[(row["k"], row["devices"])]["makespan_seconds"]))
        lines.append("| " + " | ".join(cells) + " |")
    if result.get("scaled"):
        s = result["scaled"]
        lines += [
            "",
            f"Scaled: training only (no evaluation), costs multiplied so that {s['k']} preferences on one device take "
            f"{s['gpu_hours']} hours (the paper's GPU-hours for ParetoHqD with 11 Llama-2-7B preference models); the "
            "proportions between stages are this machine's, not a 7B model's — an estimate, not a measurement.",
        ]
    return "\n".join(lines) + "\n"


def given_costs(items) -> dict[str, float]:
    """--cost STAGE=SECONDS options as {stage: seconds}."""
    costs = {}
    for item in items:
        stage, _, seconds = item.partition("=")
        try:
            costs[stage] = float(seconds)
        except ValueError:
            raise ValueError(f"--cost takes STAGE=SECONDS (e.g. train-1=180); got {item!r}") from None
        if stage not in STAGES or costs[stage] < 0:
            raise ValueError(f"--cost {item!r}: the stage must be one of {', '.join(STAGES)} and seconds >= 0")
    return costs


def _source(result: dict) -> str:
    measured = f"median wall seconds per unit of each stage of `{result['run']}` (measured on this machine)"
    given = result.get("given_costs")
    if result["run"] is None:
        return "given on the command line"
    return measured + (f", with {', '.join(given)} given on the command line" if given else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="a finished ParetoHqD run folder: its median unit costs")
    parser.add_argument(
        "--cost",
        action="append",
        default=[],
        metavar="STAGE=SECONDS",
        help="seconds per unit of a stage (train-1, generate-2, train-2, eval, pool, ...), over the run's if given",
    )
    parser.add_argument("--k", type=int, nargs="+", default=[5, 11])
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--gpu-hours", type=float, help="scale the costs: the largest K on one device takes this")
    parser.add_argument(
        "--overlap-eval",
        action="store_true",
        help="each evaluation starts once its own model has trained (the pipeline evaluates after every model)",
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    try:
        costs = {**(stage_costs(args.run) if args.run else {}), **given_costs(args.cost)}
        paretohqd_tasks(1, [0], costs)  # every stage a graph needs has a cost
    except (OSError, ValueError) as error:
        parser.error(str(error))
    result = {
        "command": "python benchmarks/fanout_sim.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "run": args.run.name if args.run else None,
        "given_costs": sorted(given_costs(args.cost)),
        "costs": costs,
        "overlap_eval": args.overlap_eval,
        "rows": simulate_grid(costs, args.k, args.devices, overlap_eval=args.overlap_eval),
    }
    if args.gpu_hours:
        k = max(args.k)
        big = scaled(costs, k, args.gpu_hours)
        result["scaled"] = {
            "k": k,
            "gpu_hours": args.gpu_hours,
            "costs": big,
            "rows": simulate_grid(big, args.k, args.devices, evaluate=False),
        }
    print(markdown(result))
    if not args.no_write:
        publish("fanout", result, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
