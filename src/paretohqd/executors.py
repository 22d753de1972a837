"""Executors: where a run's units of work compute. An executor has one job: `submit(fn, *args)` starts fn(*args) and
returns a handle, `gather(handles)` waits for the tasks and returns their values. A task that must wait for others
takes their handles as arguments (their values are not used): the dependencies between units are what is passed, not
the order of the calls.

- `LocalExecutor` (`executor: local`) runs a task at once, in this process: a handle is the task's value, and a run
  does what it always did, one unit after another.
- `RayExecutor` (`executor: ray`) makes every task a Ray task with the resources of the config's `ray` section;
  handles are Ray object refs, so Ray starts a task once the tasks it waits for have finished, and runs the others in
  parallel.

Tasks share nothing but the run folder: each asks `run.todo(unit)` first and writes its outputs atomically, then its
unit marker (`paretohqd.runs`), so a rerun or a retried task skips finished units, and a run started on one executor
resumes on the other. With Ray, the run folder must be on a filesystem that every node sees (fsspec URIs for the run
folder are not supported yet). Ray is an optional extra (`pip install paretohqd[ray]`), imported only here.

Ray and `accelerate launch` are not combined: Ray spreads the models of a run over devices, accelerate spreads one
model over several (`paretohqd.distributed`); under `accelerate launch` every process runs the local executor, and
`executor: ray` is an error (`paretohqd.pipeline.prepare`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from paretohqd.config import RayConfig, RunConfig


class LocalExecutor:
    """Runs every task at once, in this process; a task's handle is its return value."""

    def submit(self, fn: Callable, *args):
        return fn(*args)

    def gather(self, handles: Iterable) -> list:
        return list(handles)


class RayExecutor:
    """Runs every task as a Ray task with `settings`' resources and retries. Joins Ray at `settings.address` (or
    starts a local instance) unless Ray is initialised already."""

    def __init__(self, settings: RayConfig):
        import ray

        if not ray.is_initialized():
            ray.init(address=settings.address)
        self._ray = ray
        self._threads = max(1, int(settings.cpus_per_task))
        self._options = {
            "num_cpus": settings.cpus_per_task,
            "num_gpus": settings.gpus_per_task,
            "max_retries": settings.max_retries,
            **({} if settings.memory_gb is None else {"memory": int(settings.memory_gb * 2**30)}),
        }

    def submit(self, fn: Callable, *args):
        from paretohqd.rewards import reward_factories

        # Object refs among args are top-level arguments of the Ray task, so Ray waits for them and passes values.
        task = _remote_task().options(name=fn.__name__, **self._options)
        return task.remote(fn, reward_factories(), self._threads, *args)

    def gather(self, handles: Iterable) -> list:
        handles = list(handles)
        if handles:
            # Every task finishes (and commits its unit) before a failed one stops the run: a rerun has less to redo.
            self._ray.wait(handles, num_returns=len(handles))
        return self._ray.get(handles)


def executor_for(config: RunConfig) -> LocalExecutor | RayExecutor:
    """The executor the config asks for."""
    return RayExecutor(config.ray) if config.executor == "ray" else LocalExecutor()


@functools.cache
def _remote_task():
    import ray

    return ray.remote(_run_task)


def _run_task(fn: Callable, rewards: dict, threads: int, *args):
    """A Ray task: fn(*args) with `threads` torch threads and the driver's reward registry (`rewards`, name ->
    factory), so that rewards registered in the driver score in the workers too (their code must be importable
    there, or defined in the driver's main script)."""
    import torch

    from paretohqd.rewards import register_reward

    torch.set_num_threads(threads)
    for name, factory in rewards.items():
        register_reward(name, factory, overwrite=True)
    return fn(*args)
