"""The fan-out simulation: list scheduling on hand-made graphs, and the ParetoHqD task graph."""

import pytest

from paretohqd.schedule import Task, paretohqd_tasks, simulate

COSTS = {
    "pool": 10,
    "select-1": 0,
    "train-1": 50,
    "generate-2": 80,
    "pool-2": 2,
    "select-2": 0,
    "train-2": 20,
    "eval": 40,
}


@pytest.mark.parametrize(("devices", "makespan"), [(1, 30.0), (2, 20.0), (3, 10.0), (8, 10.0)])
def test_independent_tasks_share_the_devices(devices, makespan):
    tasks = [Task(name, 10.0) for name in "abc"]
    assert simulate(tasks, devices).makespan == makespan


def test_a_chain_takes_its_sum_whatever_the_devices():
    tasks = [Task("a", 3.0), Task("b", 4.0, ("a",)), Task("c", 5.0, ("b",))]
    schedule = simulate(tasks, 4)
    assert schedule.makespan == 12.0
    assert schedule.slots["b"][:2] == (3.0, 7.0) and schedule.slots["c"][:2] == (7.0, 12.0)


def test_the_critical_path_starts_first():
    # Given in a bad order: starting the short tasks first would end at 25; the long chain first ends at 20.
    tasks = [Task("c", 5.0), Task("d", 5.0), Task("e", 5.0), Task("a", 10.0), Task("b", 10.0, ("a",))]
    schedule = simulate(tasks, 2)
    assert schedule.slots["a"][0] == 0.0
    assert schedule.makespan == 20.0


def test_driver_work_needs_no_device_and_devices_fill_its_gaps():
    tasks = [Task("score", 10.0, devices=0), Task("train", 5.0, ("score",)), Task("other", 10.0)]
    schedule = simulate(tasks, 1)
    assert schedule.slots["score"][2] == -1 and schedule.slots["other"][:2] == (0.0, 10.0)
    assert schedule.makespan == 15.0 and schedule.busy() == 15.0


def test_paretohqd_graph_on_one_device_keeps_it_busy_from_start_to_end():
    tasks = paretohqd_tasks(5, [0, 2, 4], COSTS, overlap_eval=True)
    schedule = simulate(tasks, 1)
    device_work = 40 + 5 * 50 + 3 * 80 + 5 * 20 + 5 * 40  # the base model's evaluation runs while the pool scores
    assert schedule.busy() == device_work and schedule.makespan == device_work


@pytest.mark.parametrize("devices", [2, 3, 5, 8, 16])
def test_paretohqd_graph_respects_dependencies_and_the_lower_bounds(devices):
    tasks = paretohqd_tasks(5, [0, 2, 4], COSTS, overlap_eval=True)
    schedule = simulate(tasks, devices)
    for task in tasks:
        start = schedule.slots[task.name][0]
        assert all(schedule.slots[dep][1] <= start for dep in task.deps)
    critical = 10 + 50 + 80 + 2 + 20 + 40  # pool, a representative's train-1 and generation, pool-2, train-2, eval
    assert schedule.makespan >= max(critical, schedule.busy() / devices) - 1e-9
    per_device = {}
    for start, end, device in schedule.slots.values():
        if device >= 0:
            per_device.setdefault(device, []).append((start, end))
    for spans in per_device.values():  # a device runs one task at a time
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    if devices >= 6:  # every model trains at once: the critical path is all it takes
        assert schedule.makespan == critical


@pytest.mark.parametrize("devices", [1, 2, 4, 16])
def test_evaluation_after_every_model_costs_what_the_barrier_adds(devices):
    barrier = simulate(paretohqd_tasks(5, [0, 2, 4], COSTS), devices)
    overlap = simulate(paretohqd_tasks(5, [0, 2, 4], COSTS, overlap_eval=True), devices)
    last_training = max(end for name, (_, end, _) in barrier.slots.items() if name.startswith("train-2/"))
    assert all(barrier.slots[name][0] >= last_training for name in barrier.slots if name.startswith("eval/"))
    assert barrier.busy() == overlap.busy()  # greedy list scheduling is not monotone: no order between makespans
    if devices >= 6:  # every evaluation at once after the last training; the base model's too
        assert barrier.makespan == overlap.makespan
    if devices == 1:  # the pool's scoring can no longer hide the base model's evaluation
        assert barrier.makespan == overlap.makespan + 10


def test_bad_graphs_are_errors():
    with pytest.raises(ValueError, match="unknown task"):
        simulate([Task("a", 1.0, ("z",))], 1)
    with pytest.raises(ValueError, match="cycle"):
        simulate([Task("a", 1.0, ("b",)), Task("b", 1.0, ("a",))], 1)
    with pytest.raises(ValueError, match="appears twice"):
        simulate([Task("a", 1.0), Task("a", 2.0)], 1)
    with pytest.raises(ValueError, match="devices must be >= 1"):
        simulate([Task("a", 1.0)], 0)
    with pytest.raises(ValueError, match="representatives among"):
        paretohqd_tasks(3, [3], COSTS)
    with pytest.raises(ValueError, match="no seconds for stage"):
        paretohqd_tasks(3, [0], {"train-1": 1.0})
