"""`accelerate launch` (paretohqd.distributed): the main process alone scores, selects, generates, evaluates and writes
the run folder; every process trains; they wait for each other at the end of every unit. Without a launch every call
is a no-op. The multi-process tests run the tiny config in two CPU processes over gloo (cpu_2proc.yaml)."""

import json
import os
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
import torch
from accelerate.commands.config.config_args import load_config_from_file
from safetensors.torch import load_file

from distributed_cli import LoggedLetterA
from paretohqd import distributed
from paretohqd.config import dump_config, load_config, shipped_configs
from paretohqd.models import convert_gguf
from paretohqd.pipeline import prepare
from paretohqd.runs import Run
from paretohqd.workflow import run_pipeline
from tiny_models import save_chat_llama
from tiny_runs import config, tiny_registry, tiny_setup

torch.set_num_threads(1)

ACCELERATE_CONFIGS = Path(str(files("paretohqd") / "configs" / "accelerate"))
CLI = Path(__file__).parent / "distributed_cli.py"
LAUNCHERS = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


@pytest.fixture
def single(monkeypatch):
    """No launcher variables: this process runs alone."""
    for name in LAUNCHERS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def run(tmp_path, single):
    """A run folder, made (as the main process makes it)."""
    return Run(tmp_path / "run", load_config(None, ["name=run"]))


@pytest.fixture
def waits(monkeypatch):
    """Barriers this process waits at, in order."""
    calls = []
    monkeypatch.setattr(distributed, "barrier", lambda: calls.append("barrier"))
    return calls


@pytest.fixture
def other_process(monkeypatch, waits):
    """This process as one of an `accelerate launch` other than the main one; returns its barrier waits."""
    monkeypatch.setattr(distributed, "is_main", lambda: False)
    return waits


def test_without_a_launch_every_call_is_a_no_op(single):
    assert not distributed.launched()
    assert distributed.is_main() and distributed.local_processes() == 1
    distributed.barrier()
    assert distributed.main_value({"done": False}) == {"done": False}


def test_a_launch_is_told_by_the_launcher_variables(single, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # two machines, two processes on each
    assert distributed.launched() and distributed.local_processes() == 2


def test_without_a_launch_todo_is_not_done(run):
    assert run.todo("pool") and run.todo("train-1/pref-00", everyone=True)
    with run.unit("pool") as record:
        record["samples"] = 3
    assert run.done("pool") and not run.todo("pool") and not run.todo("pool", everyone=True)
    assert run.result("pool")["samples"] == 3


def test_the_main_process_runs_a_unit_marks_it_then_waits_for_the_others(run, waits):
    assert run.todo("pool") and waits == []
    with run.unit("pool"):
        assert waits == []
    assert run.done("pool") and waits == ["barrier"]


def test_other_processes_leave_a_unit_to_the_main_process_and_wait_until_it_is_done(run, other_process):
    assert not run.todo("pool")
    assert other_process == ["barrier"]  # the barrier the main process's unit ends at


def test_every_process_runs_a_training_unit_and_only_the_main_process_marks_it(run, other_process):
    assert run.todo("train-1/pref-00", everyone=True) and other_process == []
    with run.unit("train-1/pref-00") as record:
        record["steps"] = 3
    assert not run.done("train-1/pref-00")
    assert other_process == ["barrier"]


def test_every_process_takes_the_main_process_answer_to_whether_a_unit_is_done(run, other_process, monkeypatch):
    monkeypatch.setattr(distributed, "main_value", lambda value: True)  # the main process sees the unit's marker
    assert not run.todo("train-1/pref-00", everyone=True) and not run.todo("pool")
    assert other_process == []  # a finished unit: nobody runs it, nobody waits
    run.path("units", "train-1", "pref-00.json").write_text("{}")  # this process sees a marker the main one does not
    monkeypatch.setattr(distributed, "main_value", lambda value: False)
    assert run.todo("train-1/pref-00", everyone=True)


def test_other_processes_open_the_run_folder_the_main_process_made(run, other_process):
    before = sorted(p.name for p in run.root.iterdir())
    other = Run(run.root, load_config(None, ["name=other"]), force=True)  # the main process checks and writes
    assert sorted(p.name for p in run.root.iterdir()) == before
    assert other.manifest == run.manifest and other_process == ["barrier"]


def test_ray_does_not_run_under_accelerate_launch(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ValueError, match="accelerate"):
        prepare(load_config(None, ["executor=ray"]))


def test_a_model_conversion_another_process_finished_first_is_kept(tmp_path, monkeypatch):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tiny = save_chat_llama(tmp_path / "tiny")
    tokenizer, model = AutoTokenizer.from_pretrained(tiny), AutoModelForCausalLM.from_pretrained(tiny)
    monkeypatch.setattr(AutoTokenizer, "from_pretrained", lambda *args, **kwargs: tokenizer)
    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", lambda *args, **kwargs: model)
    target = tmp_path / "cache" / "model"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")  # another process's conversion, finished while this one converted
    assert convert_gguf(tmp_path / "model.gguf", target) == target
    assert (target / "config.json").read_text() == "{}"
    assert [p.name for p in target.parent.iterdir()] == ["model"]


@pytest.mark.parametrize(
    ("name", "kind", "processes"),
    [
        ("ddp", "MULTI_GPU", 8),
        ("fsdp", "FSDP", 8),
        ("deepspeed_zero2", "DEEPSPEED", 8),
        ("deepspeed_zero3", "DEEPSPEED", 8),
        ("cpu_2proc", "MULTI_GPU", 2),  # accelerate's multi-GPU launcher starts CPU processes without MPI
    ],
)
def test_shipped_accelerate_configs_load_and_are_no_run_configs(name, kind, processes):
    settings = load_config_from_file(str(ACCELERATE_CONFIGS / f"{name}.yaml"))
    assert settings.distributed_type == kind and settings.num_processes == processes
    assert name not in shipped_configs() and "accelerate" not in shipped_configs()


# Two processes, end to end.


def launch(config_path: Path, out: Path, calls: Path) -> None:
    """`paretohqd run` (with the logged test reward) in two CPU processes under `accelerate launch`."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "ACCELERATE_USE_CPU": "true",  # stay on the CPU where GPUs are visible
        "REWARD_CALLS": str(calls),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(CLI.parent), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "accelerate.commands.launch", "--config_file"]
    command += [str(ACCELERATE_CONFIGS / "cpu_2proc.yaml"), str(CLI), "run", str(config_path), "--out", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The tiny ParetoHqD run (2 preferences, both stages, evaluation) in one process and in two, with the processes
    that scored (one line per reward call) of each: ((one, one_calls), (two, two_calls), config path)."""
    root = tmp_path_factory.mktemp("distributed")
    setup = tiny_setup(root / "setup")
    path = root / "tiny.yaml"
    path.write_text(dump_config(config(setup, "preferences=[[1, 0], [0, 1]]", "train.steps=4", "stage2.steps=2")))
    one_calls, two_calls = root / "one-calls.txt", root / "two-calls.txt"
    with pytest.MonkeyPatch.context() as patch, tiny_registry(reward=LoggedLetterA):
        patch.setenv("REWARD_CALLS", str(one_calls))
        one = run_pipeline(load_config(path), out=root / "one")
    launch(path, root / "two", two_calls)
    return (one.root, one_calls), (root / "two" / one.root.name, two_calls), path


def markers(root: Path) -> dict[str, float]:
    """Unit name -> its marker's modification time."""
    units = root / "units"
    return {str(p.relative_to(units).with_suffix("")): p.stat().st_mtime for p in units.rglob("*.json")}


def tensors(adapter: Path) -> dict[str, tuple]:
    return {name: tuple(t.shape) for name, t in load_file(str(adapter / "adapter_model.safetensors")).items()}


@pytest.mark.slow
def test_two_processes_make_one_copy_of_what_one_process_makes(runs):
    (one, _), (two, _), _ = runs
    assert markers(two).keys() == markers(one).keys()
    for stage in ("stage1", "stage2"):
        labels = sorted(p.name for p in (two / "adapters" / stage).iterdir())
        assert labels == ["pref-00", "pref-01"]
        for label in labels:
            assert tensors(two / "adapters" / stage / label) == tensors(one / "adapters" / stage / label)
    assert not [p for p in two.rglob("*") if p.name.startswith(".")]  # no scratch folder or temporary file is left
    points = json.loads((two / "eval" / "points.json").read_text())
    assert [p["label"] for p in points] == ["base", "pref-00", "pref-01"]


@pytest.mark.slow
def test_only_the_main_process_scores_and_as_often_as_one_process(runs):
    (_, one_calls), (_, two_calls), _ = runs
    scorers = two_calls.read_text().split()
    assert len(set(scorers)) == 1
    assert len(scorers) == len(one_calls.read_text().split())  # the pool, the stage-2 pool, 3 evaluations


@pytest.mark.slow
def test_every_process_trains_on_its_own_batches(runs):
    (one, _), (two, _), _ = runs
    for unit in ("train-1/pref-00", "train-2/pref-01"):
        solo, pair = (json.loads((root / "units" / f"{unit}.json").read_text()) for root in (one, two))
        assert pair["steps"] == solo["steps"]
        assert pair["samples_seen"] == 2 * solo["samples_seen"]


@pytest.mark.slow
def test_a_resumed_two_process_run_redoes_only_the_unit_without_a_marker(runs, tmp_path):
    _, (two, _), path = runs
    resumed = tmp_path / two.name
    shutil.copytree(two, resumed)
    before = markers(resumed)
    (resumed / "units" / "train-2" / "pref-00.json").unlink()
    calls = tmp_path / "calls.txt"
    launch(path, tmp_path, calls)
    after = markers(resumed)
    assert after.keys() == before.keys()
    assert [unit for unit in after if after[unit] != before[unit]] == ["train-2/pref-00"]
    assert not calls.exists()  # nothing was scored again
    assert not [p for p in resumed.rglob("*") if p.name.startswith(".")]
