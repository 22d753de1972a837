"""One model on many devices: a run under `accelerate launch` is N processes running the same program.

The units of work (`paretohqd.runs.Run.todo`) say who does what: the main process alone scores, selects, generates,
evaluates and writes the run folder, while the others wait; every process trains (TRL's and transformers' trainers
read the distributed environment `accelerate launch` sets: DDP, FSDP or DeepSpeed, from the accelerate config
file); every unit ends with all processes waiting for each other. Built on accelerate's `PartialState`
(torch.distributed underneath). Without a multi-process launch every function here is a no-op and `is_main()` is
True: a plain run does what it did before.

Accelerate configs ship in `paretohqd/configs/accelerate/`: ddp, fsdp, deepspeed_zero2, deepspeed_zero3, and
cpu_2proc (two CPU processes over gloo, what the tests use).
"""

from __future__ import annotations

import os
from datetime import timedelta

# How long a process may wait at a barrier. The others wait there while the main process scores a pool or evaluates
# every model (hours on a large run); torch's default of 30 minutes would end the run.
WAIT = timedelta(hours=24)

# Variables that launchers (torchrun, MPI) set to the number of processes.
_WORLD_SIZE = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def launched() -> bool:
    """Whether this process is one of several started by `accelerate launch` (or torchrun, or MPI)."""
    return any(int(os.environ.get(name, "1")) > 1 for name in _WORLD_SIZE)


def local_processes() -> int:
    """The processes of the launch on this machine (1 without a multi-process launch)."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", "1")) if launched() else 1


def _state():
    """accelerate's PartialState (joining the process group on first use), or None without a multi-process launch.
    Not cached: transformers' TrainingArguments resets it, and a new one joins the same process group."""
    if not launched():
        return None
    import torch
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    # The process group must suit the device the trainers use: the CPU (gloo) when ACCELERATE_USE_CPU says so or
    # there is no GPU (accelerate starts CPU processes with its multi-GPU launcher: configs/accelerate/cpu_2proc.yaml).
    cpu = parse_flag_from_env("ACCELERATE_USE_CPU") or not torch.cuda.is_available()
    return PartialState(cpu=cpu, timeout=WAIT)


def is_main() -> bool:
    """Whether this is the main process, the one that writes the run folder (True without a multi-process launch)."""
    state = _state()
    return state is None or state.is_main_process


def barrier() -> None:
    """Wait until every process has come here."""
    state = _state()
    if state is not None:
        state.wait_for_everyone()


def main_value(value):
    """The main process's `value`, on every process (a picklable object; every process must call this)."""
    state = _state()
    if state is None:
        return value
    from accelerate.utils import broadcast_object_list

    return broadcast_object_list([value], from_process=0)[0]


def print_main(*args, **kwargs) -> None:
    """`print` on the main process only."""
    if is_main():
        print(*args, **kwargs)
