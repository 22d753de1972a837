"""Executors: `local` runs every unit in this process; `ray` runs the per-preference units as Ray tasks on a local Ray
instance (2 CPUs) and must give the same run — and a run moves between the two without redoing finished units."""

import json
import os
import shutil
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from paretohqd.config import RunConfig, load_config
from paretohqd.executors import LocalExecutor
from paretohqd.runs import read_preferences
from paretohqd.schedule import measured_tasks, simulate, stage_costs, unit_spans
from paretohqd.workflow import run_pipeline
from tiny_runs import LetterA, config, run_tiny, tiny_setup

torch.set_num_threads(1)

LABELS = ("pref-00", "pref-01", "pref-02")
# Every unit of a tiny ParetoHqD run (3 preferences, both stages, evaluation with the base model).
UNITS = {
    "pool",
    "select-1",
    "pool-2",
    "select-2",
    *(f"{stage}/{label}" for stage in ("train-1", "train-2") for label in LABELS),
    *(f"generate-2/rep-{label}" for label in LABELS),
    *(f"eval/{label}" for label in ("base", *LABELS)),
}


class DiesOnceInAWorker(LetterA):
    """The test reward, except that its first call in a process other than `driver` kills that process, once: the
    `marker` file it leaves says it happened (when)."""

    def __init__(self, marker: Path, driver: int):
        self.marker, self.driver = Path(marker), driver

    def _score(self, prompts, responses):
        if os.getpid() != self.driver and not self.marker.exists():
            self.marker.touch()
            os._exit(1)
        return super()._score(prompts, responses)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return tiny_setup(tmp_path_factory.mktemp("executors"))


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray instance for the module; its workers import the test helpers (the test reward) from here."""
    ray = pytest.importorskip("ray")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(Path(__file__).parent), os.getenv("PYTHONPATH")])))
        ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def local_run(setup, tmp_path_factory):
    return run_tiny(setup, "name=local", out=tmp_path_factory.mktemp("local"))


@pytest.fixture(scope="module")
def ray_run(setup, ray_session, tmp_path_factory):
    """The same run on Ray, where the first reward call in a worker (pool-2's scoring, a task that waits for the
    representatives' generations) kills its worker once; returns the run and the file that marks the crash."""
    out = tmp_path_factory.mktemp("ray")
    crash = out / "worker-died"
    run = run_tiny(setup, "name=ray", "executor=ray", out=out, reward=partial(DiesOnceInAWorker, crash, os.getpid()))
    return run, crash


def units(root: Path) -> list[str]:
    return sorted(p.relative_to(root / "units").with_suffix("").as_posix() for p in (root / "units").rglob("*.json"))


def assert_same_adapters(a: Path, b: Path) -> None:
    for stage in ("stage1", "stage2"):
        for label in LABELS:
            left = load_file(a / "adapters" / stage / label / "adapter_model.safetensors")
            right = load_file(b / "adapters" / stage / label / "adapter_model.safetensors")
            assert left.keys() == right.keys()
            assert all(torch.equal(left[name], right[name]) for name in left), f"{stage}/{label} differs"


def selection(root: Path, stage: int, label: str) -> pd.DataFrame:
    return pd.read_json(root / "selections" / f"stage{stage}" / f"{label}.jsonl", lines=True)


# --- local executor and configuration --------------------------------------------------------------------------------


def test_the_local_executor_runs_a_task_when_it_is_submitted_and_its_handle_is_the_value():
    calls = []
    executor = LocalExecutor()
    first = executor.submit(lambda x: calls.append(x) or x * 2, 3)
    assert calls == [3] and first == 6
    second = executor.submit(lambda x, after: x + after, 1, first)
    assert executor.gather([first, second]) == [6, 7]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("executor=dask", r"config: executor must be one of 'local', 'ray' .*; got 'dask'"),
        ("ray.cpus_per_task=0", r"config.ray: cpus_per_task must be a positive number; got 0"),
        ("ray.gpus_per_task=-1", r"config.ray: gpus_per_task must be a non-negative number"),
        ("ray.memory_gb=0", r"config.ray: memory_gb must be a positive number or null"),
        ("ray.max_retries=-1", r"config.ray: max_retries must be a non-negative integer; got -1"),
    ],
)
def test_an_unknown_executor_or_bad_ray_settings_are_clear_config_errors(override, message):
    with pytest.raises(ValueError, match=message):
        load_config(None, [override])


def test_the_executor_settings_leave_the_config_digest_unchanged():
    moved = load_config(None, ["executor=ray", "ray.address=auto", "ray.gpus_per_task=1", "ray.max_retries=0"])
    assert moved.executor == "ray" and moved.ray.gpus_per_task == 1.0
    assert moved.digest() == RunConfig().digest()


# --- Ray --------------------------------------------------------------------------------------------------------------


def test_ray_selects_and_trains_exactly_what_the_local_executor_does(ray_run, local_run):
    run, _ = ray_run
    for stage in (1, 2):
        for label in LABELS:
            pd.testing.assert_frame_equal(selection(run.root, stage, label), selection(local_run.root, stage, label))
    # Same seeds and one torch thread per task, as locally: the adapters are equal bit for bit.
    assert_same_adapters(run.root, local_run.root)


def test_every_unit_of_a_ray_run_is_committed_once_and_its_points_are_the_local_ones(ray_run, local_run):
    run, _ = ray_run
    assert units(run.root) == units(local_run.root) == sorted(UNITS)
    assert not list(run.root.rglob(".*"))  # no staging file or folder left behind, not even by the worker that died
    points = json.loads((run.root / "eval" / "points.json").read_text())
    assert [p["label"] for p in points] == ["base", *LABELS]
    assert points == json.loads((local_run.root / "eval" / "points.json").read_text())


def test_a_task_whose_worker_dies_is_retried_and_the_units_finished_before_stay_as_they_were(ray_run):
    run, crash = ray_run
    assert crash.is_file()  # pool-2's worker died once; Ray ran the task again and the run finished
    died = crash.stat().st_mtime_ns
    before = [u for u in units(run.root) if u.startswith(("train-1/", "generate-2/"))]
    assert len(before) == 6
    assert all((run.root / "units" / f"{u}.json").stat().st_mtime_ns <= died for u in before)
    assert all((run.root / "units" / f"{u}.json").stat().st_mtime_ns > died for u in ("pool-2", "select-2"))


def test_a_run_stopped_locally_after_selection_finishes_on_ray(setup, ray_session, local_run, tmp_path, tiny_rewards):
    run_pipeline(config(setup, "name=moved"), out=tmp_path, stop_after="select-1")
    stage1 = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in (tmp_path / "moved" / "selections").rglob("*.jsonl")}
    assert len(stage1) == 3
    run = run_pipeline(config(setup, "name=moved", "executor=ray"), out=tmp_path)
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in stage1} == stage1
    assert units(run.root) == sorted(UNITS)
    assert_same_adapters(run.root, local_run.root)


def test_a_ray_run_missing_one_unit_is_finished_locally_without_redoing_the_others(setup, ray_run, tmp_path):
    source, _ = ray_run
    root = tmp_path / "ray"
    shutil.copytree(source.root, root)
    (root / "units" / "train-2" / "pref-01.json").unlink()
    others = {u: (root / "units" / f"{u}.json").read_bytes() for u in units(root)}
    run = run_tiny(setup, "name=ray", "executor=local", out=tmp_path)
    assert units(run.root) == sorted(UNITS)
    assert {u: (root / "units" / f"{u}.json").read_bytes() for u in others} == others
    assert_same_adapters(root, source.root)  # pref-01's stage 2, trained again here, is the one Ray trained


# --- the task graph a run had (paretohqd.schedule) --------------------------------------------------------------------


def test_a_finished_run_gives_its_task_graph_with_each_units_own_seconds(local_run):
    tasks = {t.name: t for t in measured_tasks(local_run.root)}
    assert set(tasks) == UNITS
    walls = {u: json.loads((local_run.root / "units" / f"{u}.json").read_text())["wall_seconds"] for u in UNITS}
    assert {name: t.seconds for name, t in tasks.items()} == walls
    assert set(tasks["train-2/pref-01"].deps) == {"select-2", "train-1/pref-01"}
    assert tasks["generate-2/rep-pref-02"].deps == ("train-1/pref-02",)
    assert {t.devices for name, t in tasks.items() if "/" not in name} == {0}  # scoring and selection: the driver
    assert stage_costs(local_run.root)["train-1"] == sorted(walls[f"train-1/{label}"] for label in LABELS)[1]


def test_a_finished_run_gives_back_its_preference_vectors_by_label_in_config_order(local_run):
    preferences = read_preferences(local_run.root)
    assert list(preferences) == list(LABELS)
    assert [preferences[label] for label in LABELS] == [list(w) for w in local_run.config.preferences]


def test_the_local_run_ran_its_units_one_after_another_no_faster_than_the_simulation_says(local_run):
    spans = sorted(unit_spans(local_run.root).values())
    assert len(spans) == len(UNITS)
    assert all(start <= end for start, end in spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # one process: no two units at once
    # One device does no worse than one process doing everything in turn (the driver's work can overlap there).
    measured = spans[-1][1] - spans[0][0]
    assert simulate(measured_tasks(local_run.root), 1).makespan <= measured + 0.01


def test_on_ray_every_unit_started_after_the_units_it_waits_for_had_finished(ray_run):
    run, _ = ray_run
    spans = unit_spans(run.root)
    for task in measured_tasks(run.root):
        assert all(spans[dep][1] <= spans[task.name][0] for dep in task.deps), task.name


def test_a_run_with_a_unit_missing_has_no_task_graph_yet(local_run, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(local_run.root, root)
    (root / "units" / "train-2" / "pref-01.json").unlink()
    with pytest.raises(ValueError, match="train-2/pref-01 not finished"):
        measured_tasks(root)
    shutil.rmtree(root / "units" / "train-2")
    with pytest.raises(ValueError, match="no finished units of stage"):
        stage_costs(root)
