"""Pareto-core benchmark: paretohqd against moocore, pymoo and the numpy lexsort floor, side by side.

Tasks (maximisation everywhere; peers get the same points, negated where they minimise):
  rank        full non-dominated sorting (every point's Pareto rank)
  front       the first front (mask of non-dominated points; duplicates kept by every implementation)
  top_layers  the fewest top layers holding >= 3,000 points (the ParetoHqD use); peers rank everything, then cut
  ray_topk    distances of N points to K = 100 preference rays and the k = 100 nearest per ray (M = 3)
Each cell is the median wall time of several repeats after a warm-up call; outputs are checked against
paretohqd's. Compared like with like: moocore's is_nondominated runs with keep_weakly=True (its default drops
duplicates of front points); pymoo 0.6.2 ignores `method=` and calls moocore's pareto_rank, even for the first front.

Usage: python benchmarks/pareto_bench.py [--quick] [--sizes ...] [--objectives ...] [--tasks ...] [--no-write]
Writes benchmarks/results/pareto.json (one record per case; re-measured cases replace old ones) and the tables in
benchmarks/RESULTS.md, which list the command of every run that contributed.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import moocore
import numba
import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from paretohqd.pareto import nearest_to_rays, non_dominated, pareto_ranks, simplex_lattice, top_layers
from results_md import replace_section

HERE = Path(__file__).resolve().parent
DISTRIBUTIONS = ("uniform", "correlated", "anticorrelated")
TASKS = ("rank", "front", "top_layers", "ray_topk")
TOP_COUNT = 3_000
# A case whose single run exceeds this many seconds is not repeated, and that implementation is skipped at the next
# size (its cost grows at least linearly).
SLOW_SECONDS = 20.0


def make_points(distribution: str, n: int, m: int, seed: int = 0) -> np.ndarray:
    """(n, m) test points: uniform in the unit cube; correlated (one shared factor + noise); anti-correlated (near
    the simplex, a multiplicative 5% noise sets the depth)."""
    rng = np.random.default_rng(seed)
    if distribution == "uniform":
        return rng.random((n, m))
    if distribution == "correlated":
        return rng.random((n, 1)) + 0.1 * rng.standard_normal((n, m))
    return rng.dirichlet(np.ones(m), n) * (1 + 0.05 * rng.standard_normal((n, 1)))


def cut_layers(ranks: np.ndarray, min_count: int) -> np.ndarray:
    """Indices of the fewest top layers holding >= min_count points, from full ranks."""
    n_layers = int(np.searchsorted(np.cumsum(np.bincount(ranks)), min(min_count, ranks.size))) + 1
    return np.flatnonzero(ranks < n_layers)


def pymoo_ranks(points: np.ndarray) -> np.ndarray:
    return NonDominatedSorting().do(-points, return_rank=True)[1]


def pymoo_front(points: np.ndarray) -> np.ndarray:
    mask = np.zeros(len(points), dtype=bool)
    mask[NonDominatedSorting().do(-points, only_non_dominated_front=True)] = True
    return mask


def pymoo_top(points: np.ndarray) -> np.ndarray:
    fronts = NonDominatedSorting().do(-points, n_stop_if_ranked=TOP_COUNT)
    return np.sort(np.concatenate(fronts))


def numpy_ray_topk(z: np.ndarray, prefs: np.ndarray, k: int, chunk: int = 65_536) -> tuple[np.ndarray, np.ndarray]:
    """The straightforward vectorised version: an (chunk x K) distance block per step, merged by argpartition."""
    units = prefs - 1.0
    units /= np.linalg.norm(units, axis=1, keepdims=True)
    best_d = np.empty((len(prefs), 0))
    best_i = np.empty((len(prefs), 0), dtype=np.int64)
    for lo in range(0, len(z), chunk):
        g = z[lo : lo + chunk] - 1.0
        t = g @ units.T
        d2 = np.einsum("ij,ij->i", g, g)[:, None] - np.maximum(t, 0.0) ** 2
        cand_d = np.concatenate([best_d, d2.T], axis=1)
        cand_i = np.concatenate([best_i, np.broadcast_to(np.arange(lo, lo + len(g)), d2.T.shape)], axis=1)
        part = np.argpartition(cand_d, k - 1, axis=1)[:, :k]
        best_d = np.take_along_axis(cand_d, part, axis=1)
        best_i = np.take_along_axis(cand_i, part, axis=1)
    order = np.argsort(best_d, axis=1, kind="stable")
    return np.take_along_axis(best_i, order, axis=1), np.sqrt(np.maximum(np.take_along_axis(best_d, order, 1), 0))


def implementations(task: str):
    """{name: (function, comparable output)} for a task; paretohqd first (the reference for agreement)."""
    if task == "rank":
        return {
            "paretohqd": pareto_ranks,
            "moocore": lambda p: moocore.pareto_rank(p, maximise=True),
            "pymoo": pymoo_ranks,
            "lexsort": lambda p: np.lexsort(p.T[::-1]),
        }
    if task == "front":
        return {
            "paretohqd": non_dominated,
            "moocore": lambda p: moocore.is_nondominated(p, maximise=True, keep_weakly=True),
            "pymoo": pymoo_front,
            "lexsort": lambda p: np.lexsort(p.T[::-1]),
        }
    if task == "top_layers":
        return {
            "paretohqd": lambda p: top_layers(p, TOP_COUNT).indices,
            "paretohqd_full_rank": lambda p: cut_layers(pareto_ranks(p), TOP_COUNT),
            "moocore": lambda p: cut_layers(moocore.pareto_rank(p, maximise=True), TOP_COUNT),
            "pymoo": pymoo_top,
        }
    raise ValueError(task)


def agrees(task: str, reference, output) -> bool:
    if task == "ray_topk":
        return bool(np.allclose(reference[1], output[1], atol=1e-7))
    return bool(np.array_equal(np.asarray(reference), np.asarray(output)))


def time_call(fn, args, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - start)
        if times[-1] > SLOW_SECONDS:
            break
    return statistics.median(times), out


def repeats_for(n: int) -> int:
    return 7 if n <= 10_000 else (5 if n <= 100_000 else 3)


def run(sizes: list[int], objectives: list[int], tasks: list[str]) -> list[dict]:
    warm = make_points("uniform", 2_000, 3)
    for m in objectives:  # compile (or load from the cache) every kernel before timing
        pts = make_points("uniform", 5_000, m)
        pareto_ranks(pts), non_dominated(pts), top_layers(pts, 100)
    nearest_to_rays(warm, simplex_lattice(3, 4), 5)
    records, skipped = [], set()
    for task in (t for t in TASKS[:3] if t in tasks):
        for m in objectives:
            for dist in DISTRIBUTIONS:
                for n in sizes:
                    points = make_points(dist, n, m)
                    record = {"task": task, "n": n, "m": m, "distribution": dist, "seconds": {}, "agree": {}}
                    reference = None
                    for name, fn in implementations(task).items():
                        if (task, m, dist, name) in skipped:
                            record["seconds"][name] = None
                            continue
                        seconds, out = time_call(fn, (points,), repeats_for(n))
                        record["seconds"][name] = seconds
                        if seconds > SLOW_SECONDS:
                            skipped.add((task, m, dist, name))
                        if name == "paretohqd":
                            reference = out
                        elif name != "lexsort":
                            record["agree"][name] = agrees(task, reference, out)
                    records.append(record)
                    print(json.dumps(record), flush=True)
    if "ray_topk" not in tasks:
        return records
    z = make_points("uniform", max(sizes), 3)
    prefs = simplex_lattice(3, 13)[:100]
    record = {"task": "ray_topk", "n": len(z), "m": 3, "distribution": "uniform", "k": 100, "preferences": len(prefs)}
    ours_s, ours = time_call(lambda: nearest_to_rays(z, prefs, 100), (), repeats_for(len(z)))
    peer_s, peer = time_call(lambda: numpy_ray_topk(z, prefs, 100), (), repeats_for(len(z)))
    record["seconds"] = {"paretohqd": ours_s, "numpy_chunked": peer_s}
    record["agree"] = {"numpy_chunked": agrees("ray_topk", ours, peer)}
    records.append(record)
    print(json.dumps(record), flush=True)
    return records


def fmt(seconds) -> str:
    return "—" if seconds is None else (f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s")


def targets(records: list[dict]) -> list[str]:
    """The project's speed targets at the largest N, each checked on its worst distribution."""
    n = max(r["n"] for r in records)
    at = [r for r in records if r["n"] == n]

    def worst(task, m, ratio):
        values = [ratio(r["seconds"]) for r in at if r["task"] == task and r["m"] == m]
        return min(values) if values else None

    def speedup(peer):
        return lambda s: s[peer] / s["paretohqd"]

    checks = [  # (target, speed-up over the named baseline on the worst distribution, speed-up needed)
        ("full ranking, M = 2: >= 1.5× faster than moocore", worst("rank", 2, speedup("moocore")), 1.5),
        ("full ranking, M = 3: >= 3× faster than moocore", worst("rank", 3, speedup("moocore")), 3.0),
        # Both sides call the same moocore routine for M >= 4: allow 5% timing noise.
        ("full ranking, M = 5: no slower than moocore", worst("rank", 5, speedup("moocore")), 0.95),
        ("first front, M = 2: within 5× of the lexsort floor", worst("front", 2, speedup("lexsort")), 0.2),
        ("first front, M = 3: within 5× of the lexsort floor", worst("front", 3, speedup("lexsort")), 0.2),
    ]
    for m in (2, 3, 5):
        checks.append(
            (
                f"top layers, M = {m}: cheaper than a full ranking",
                worst("top_layers", m, speedup("paretohqd_full_rank")),
                1.0,
            )
        )
    ray = [r for r in records if r["task"] == "ray_topk"]
    if ray:
        checks.append(
            ("ray distances + top-k: >= 5× faster than chunked numpy", speedup("numpy_chunked")(ray[0]["seconds"]), 5.0)
        )
    lines = [f"### Targets at N = {n:,}", "", "| target | speed-up, worst distribution | met |", "|---|---|---|"]
    for label, value, needed in checks:
        if value is not None:
            lines.append(f"| {label} | {value:.2f}× (needs >= {needed:g}×) | {'yes' if value >= needed else 'no'} |")
    return lines + [""]


def markdown(records: list[dict]) -> str:
    commands = list(dict.fromkeys(r["command"] for r in records))
    lines = [
        "## Pareto core (`benchmarks/pareto_bench.py`)",
        "",
        "Commands (later runs replace the cases they re-measure): " + ", ".join(f"`{c}`" for c in commands) + "  ",
        f"Machine: {platform.machine()}, {numba.config.NUMBA_NUM_THREADS} hardware threads visible, Python "
        f"{platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, moocore "
        f"{moocore.__version__}. Median wall time after warm-up; all implementations single-threaded except the "
        "numpy BLAS matmul in the chunked ray baseline. `×moocore` = moocore time / paretohqd time. "
        "'agree' = outputs identical to paretohqd's (ray_topk: same sorted distances). '—' = not run (a smaller "
        f"size already took over {SLOW_SECONDS:.0f} s).",
        "",
    ]
    lines += targets(records)
    for task, title in (
        ("rank", "Full ranking (non-dominated sorting)"),
        ("front", "First front"),
        ("top_layers", f"Top layers holding >= {TOP_COUNT:,} points"),
    ):
        rows = [r for r in records if r["task"] == task]
        names = list(rows[0]["seconds"])
        lines += [f"### {title}", "", "| M | data | N | " + " | ".join(names) + " | ×moocore | agree |"]
        lines.append("|" + "---|" * (len(names) + 5))
        for r in rows:
            s = r["seconds"]
            ratio = s["moocore"] / s["paretohqd"] if s.get("moocore") else None
            ok = all(r["agree"].values())
            cells = " | ".join(fmt(s[name]) for name in names)
            speed = "—" if ratio is None else f"{ratio:.1f}×"
            head = f"| {r['m']} | {r['distribution']} | {r['n']:,} |"
            lines.append(f"{head} {cells} | {speed} | {'yes' if ok else 'NO'} |")
        lines.append("")
    for r in (r for r in records if r["task"] == "ray_topk"):
        s = r["seconds"]
        lines += [
            f"### Ray distances + top-{r['k']} for K = {r['preferences']} preferences, N = {r['n']:,}, M = 3",
            "",
            "| paretohqd (fused kernel) | numpy, chunked | speed-up | agree |",
            "|---|---|---|---|",
            f"| {fmt(s['paretohqd'])} | {fmt(s['numpy_chunked'])} | {s['numpy_chunked'] / s['paretohqd']:.1f}× | "
            f"{'yes' if all(r['agree'].values()) else 'NO'} |",
            "",
        ]
    return "\n".join(lines)


def _case(record: dict) -> tuple:
    """Identity and table order of a record: task, M, distribution, N."""
    return TASKS.index(record["task"]), record["m"], DISTRIBUTIONS.index(record["distribution"]), record["n"]


def write_results(records: list[dict], command: str) -> None:
    """Merge `records` into results/pareto.json (a re-measured case replaces the old record) and redo the table."""
    (HERE / "results").mkdir(exist_ok=True)
    raw = HERE / "results" / "pareto.json"
    records = [{**r, "command": command} for r in records]
    fresh = {_case(r) for r in records}
    kept = [r for r in (json.loads(raw.read_text()) if raw.exists() else []) if _case(r) not in fresh]
    records = sorted(kept + records, key=_case)
    raw.write_text(json.dumps(records, indent=1) + "\n")
    replace_section("## Pareto core", markdown(records))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--objectives", type=int, nargs="+", default=[2, 3, 5])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS), help="re-measure only these")
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke check; writes nothing)")
    parser.add_argument("--no-write", action="store_true", help="print records only")
    args = parser.parse_args()
    sizes = [10_000, 20_000] if args.quick else args.sizes
    records = run(sizes, args.objectives, args.tasks)
    if not (args.quick or args.no_write):
        write_results(records, "python " + " ".join(["benchmarks/pareto_bench.py", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
