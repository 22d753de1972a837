"""How long a run's units take on G devices: the fan-out of a ParetoHqD run as a task graph, and a list-scheduling
simulation of it (for planning a cluster run from per-unit costs measured on a small one; see docs/scaling.md).

A task needs one device (GPU-bound work: training, generation, evaluation) or none (driver work: scoring and
selection, which run on the main process as soon as their inputs exist). Ready tasks start in order of their longest
path to the end of the graph (critical path first), each on the device that frees up first — the greedy policy a
task scheduler such as Ray's approximates when every task asks for one device.
"""

from __future__ import annotations

import heapq
import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from paretohqd.runs import read_preferences


@dataclass(frozen=True)
class Task:
    """One unit of work: `seconds` long, startable when every task in `deps` has finished; `devices` is 1 (needs a
    device) or 0 (driver work)."""

    name: str
    seconds: float
    deps: tuple[str, ...] = ()
    devices: int = 1


@dataclass(frozen=True)
class Schedule:
    """makespan: seconds from the first start to the last end; slots: task name -> (start, end, device index; -1
    for driver work)."""

    makespan: float
    slots: dict[str, tuple[float, float, int]] = field(default_factory=dict)

    def busy(self) -> float:
        """Device-seconds of work (the lower bound makespan * devices is compared with)."""
        return sum(end - start for start, end, device in self.slots.values() if device >= 0)


def simulate(tasks: Sequence[Task], devices: int) -> Schedule:
    """List-schedule `tasks` on `devices` identical devices (critical path first; ties: the order given)."""
    if devices < 1:
        raise ValueError(f"devices must be >= 1; got {devices!r}")
    by_name = _check(tasks)
    priority = _critical_paths(by_name)
    waiting = {t.name: set(t.deps) for t in tasks}
    children: dict[str, list[str]] = {t.name: [] for t in tasks}
    for t in tasks:
        for dep in t.deps:
            children[dep].append(t.name)
    order = {t.name: i for i, t in enumerate(tasks)}
    ready: list[tuple[float, int, str]] = []  # (-priority, order, name)
    released: dict[str, float] = {}  # when a ready task's last dependency finished
    for t in tasks:
        if not t.deps:
            heapq.heappush(ready, (-priority[t.name], order[t.name], t.name))
            released[t.name] = 0.0
    free = [(0.0, d) for d in range(devices)]  # idle devices: (time it became idle, device)
    running: list[tuple[float, str]] = []  # (end, name)
    slots: dict[str, tuple[float, float, int]] = {}
    now = 0.0
    while ready or running:
        deferred = []
        while ready:
            item = heapq.heappop(ready)
            name = item[2]
            task = by_name[name]
            if task.devices == 0:
                start = max(now, released[name])
                slots[name] = (start, start + task.seconds, -1)
                heapq.heappush(running, (start + task.seconds, name))
            elif free:
                _, device = heapq.heappop(free)
                start = max(now, released[name])
                slots[name] = (start, start + task.seconds, device)
                heapq.heappush(running, (start + task.seconds, name))
            else:
                deferred.append(item)
        for item in deferred:
            heapq.heappush(ready, item)
        if not running:
            break
        now, name = heapq.heappop(running)
        if slots[name][2] >= 0:
            heapq.heappush(free, (now, slots[name][2]))
        for child in children[name]:
            waiting[child].discard(name)
            if not waiting[child]:
                released[child] = now
                heapq.heappush(ready, (-priority[child], order[child], child))
    start = min((s for s, _, _ in slots.values()), default=0.0)
    end = max((e for _, e, _ in slots.values()), default=0.0)
    return Schedule(end - start, slots)


def paretohqd_tasks(
    k: int,
    representatives: Sequence[int],
    costs: Mapping[str, float],
    *,
    evaluate: bool = True,
    overlap_eval: bool = False,
) -> list[Task]:
    """The task graph of a ParetoHqD run with k preferences, as the Ray executor submits it. costs: seconds per unit
    of each stage — pool, select-1, train-1, generate-2, pool-2, select-2, train-2, eval (missing driver stages
    cost 0). Each representative's generation waits only for its own stage-1 model; each stage-2 training for the
    stage-2 selection and its own stage-1 model. Evaluation starts once every model has trained (the pipeline
    evaluates after the method's fit); overlap_eval=True lets each evaluation start as soon as its own final model
    exists, and the base model's at once (what an evaluation chained to the training tasks would gain)."""
    if k < 1 or not representatives or not all(0 <= r < k for r in representatives):
        raise ValueError(f"need k >= 1 and representatives among 0..{k - 1}; got k={k!r}, {list(representatives)!r}")
    missing = [s for s in ("train-1", "generate-2", "train-2") if s not in costs]
    if missing:
        raise ValueError(f"costs has no seconds for stage(s) {', '.join(missing)}")
    cost = {name: float(costs.get(name, 0.0)) for name in _STAGES}
    tasks = [Task("pool", cost["pool"], devices=0), Task("select-1", cost["select-1"], ("pool",), devices=0)]
    tasks += [Task(f"train-1/{i}", cost["train-1"], ("select-1",)) for i in range(k)]
    tasks += [Task(f"generate-2/{r}", cost["generate-2"], (f"train-1/{r}",)) for r in dict.fromkeys(representatives)]
    gens = tuple(f"generate-2/{r}" for r in dict.fromkeys(representatives))
    tasks += [Task("pool-2", cost["pool-2"], gens, devices=0), Task("select-2", cost["select-2"], ("pool-2",), 0)]
    tasks += [Task(f"train-2/{i}", cost["train-2"], ("select-2", f"train-1/{i}")) for i in range(k)]
    if evaluate:
        trained = tuple(f"train-2/{i}" for i in range(k))
        tasks += [Task(f"eval/{i}", cost["eval"], (trained[i],) if overlap_eval else trained) for i in range(k)]
        tasks.append(Task("eval/base", cost["eval"], () if overlap_eval else trained))
    return tasks


_STAGES = ("pool", "select-1", "train-1", "generate-2", "pool-2", "select-2", "train-2", "eval")


def unit_records(run: str | Path) -> dict[str, dict]:
    """A run folder's unit markers: unit name (pool, train-1/pref-00, generate-2/rep-pref-04, ...) -> record."""
    root = Path(run) / "units"
    return {m.relative_to(root).with_suffix("").as_posix(): json.loads(m.read_text()) for m in root.rglob("*.json")}


def stage_costs(run: str | Path) -> dict[str, float]:
    """Median wall seconds per unit of each stage of a finished ParetoHqD run (the costs `paretohqd_tasks` takes)."""
    walls: dict[str, list[float]] = {}
    for name, record in unit_records(run).items():
        walls.setdefault(name.split("/")[0], []).append(record["wall_seconds"])
    missing = [s for s in ("train-1", "generate-2", "train-2") if s not in walls]
    if missing:
        raise ValueError(f"{run}: no finished units of stage(s) {', '.join(missing)}; finish the run first")
    return {stage: statistics.median(walls[stage]) for stage in _STAGES if stage in walls}


def measured_tasks(run: str | Path) -> list[Task]:
    """The task graph of a finished ParetoHqD run (`paretohqd_tasks`, with its preferences and representatives),
    each task named after its unit (train-1/pref-00, generate-2/rep-pref-04, ...) and as long as that unit took
    (wall seconds from the unit markers)."""
    units = unit_records(run)
    labels = list(read_preferences(run))
    generated = [name.removeprefix("generate-2/rep-") for name in units if name.startswith("generate-2/")]
    representatives = sorted(labels.index(label) for label in generated)
    evaluated = any(name.startswith("eval/") for name in units)
    tasks = paretohqd_tasks(len(labels), representatives, stage_costs(run), evaluate=evaluated)
    tasks = [t for t in tasks if t.name != "eval/base" or "eval/base" in units]  # the base model is optional
    unit = {t.name: _unit_of(t.name, labels) for t in tasks}
    missing = [name for name in unit.values() if name not in units]
    if missing:
        raise ValueError(f"{run}: unit(s) {', '.join(missing)} not finished; finish the run first")
    return [
        Task(unit[t.name], units[unit[t.name]]["wall_seconds"], tuple(unit[d] for d in t.deps), t.devices)
        for t in tasks
    ]


def unit_spans(run: str | Path) -> dict[str, tuple[float, float]]:
    """Unit name -> (start, end) in seconds since the epoch, for the units whose markers record their start."""
    spans = {}
    for name, record in unit_records(run).items():
        if "started" in record:
            spans[name] = tuple(datetime.fromisoformat(record[key]).timestamp() for key in ("started", "finished"))
    return spans


def _unit_of(task: str, labels: Sequence[str]) -> str:
    """The unit of a task of `paretohqd_tasks`: train-1/3 -> train-1/pref-03, generate-2/0 -> generate-2/rep-pref-00."""
    stage, _, index = task.partition("/")
    if not index or index == "base":
        return task
    return f"{stage}/rep-{labels[int(index)]}" if stage == "generate-2" else f"{stage}/{labels[int(index)]}"


def _check(tasks: Sequence[Task]) -> dict[str, Task]:
    by_name = {}
    for t in tasks:
        if t.name in by_name:
            raise ValueError(f"task {t.name!r} appears twice")
        if not t.seconds >= 0 or t.devices not in (0, 1):
            raise ValueError(f"task {t.name!r}: seconds must be >= 0 and devices 0 or 1; got {t.seconds}, {t.devices}")
        by_name[t.name] = t
    for t in tasks:
        unknown = [d for d in t.deps if d not in by_name]
        if unknown:
            raise ValueError(f"task {t.name!r} depends on unknown task(s) {unknown}")
    return by_name


def _critical_paths(by_name: Mapping[str, Task]) -> dict[str, float]:
    """Per task, its seconds plus the longest chain of tasks that depend on it (a cycle is an error)."""
    children: dict[str, list[str]] = {name: [] for name in by_name}
    for t in by_name.values():
        for dep in t.deps:
            children[dep].append(t.name)
    memo: dict[str, float] = {}
    visiting: set[str] = set()

    def longest(name: str) -> float:
        if name in memo:
            return memo[name]
        if name in visiting:
            raise ValueError(f"the task graph has a cycle through {name!r}")
        visiting.add(name)
        memo[name] = by_name[name].seconds + max((longest(c) for c in children[name]), default=0.0)
        visiting.discard(name)
        return memo[name]

    return {name: longest(name) for name in by_name}
