"""Run directories: everything a run made, in one folder, committed unit by unit so that a rerun resumes.

Layout: config.yaml (the resolved config), manifest.json (versions, seed, git commit; written once, when the run is
made), units/ (one JSON marker per finished unit of work, with what it recorded and its timings), and whatever the
units write. A unit's outputs are written first (atomically), its marker last: a unit without a marker is redone, a
unit with one is never redone. The markers are a run's only state, and every unit writes its own files, so units may
run in parallel processes (`paretohqd.executors`). Under `accelerate launch` every process walks through the same
units, asking `todo` before each: the main process runs them and writes the folder, every process trains
(`paretohqd.distributed`). Reopening a run with a different config is an error unless `force` starts it over.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from paretohqd import distributed
from paretohqd.config import RunConfig, dump_config
from paretohqd.files import write_text_atomic

PREFERENCES_FILE = "preferences.json"  # label -> preference vector, written by a run's stage-1 selection
_PACKAGES = ("paretohqd", "numpy", "numba", "moocore", "torch", "transformers", "peft", "trl", "datasets")


class ConfigMismatch(ValueError):
    """The run folder holds a run of another configuration."""


class Run:
    """A run folder bound to one configuration."""

    def __init__(self, root: str | Path, config: RunConfig, *, force: bool = False, saved: bool = False):
        """saved: `config` was read from this folder's config.yaml (see `open`): no digest check, since a config
        field added to paretohqd since the run was made changes the digest but not what the run did. Under
        `accelerate launch` the main process checks and writes the folder, then every process opens it."""
        self.root = Path(root)
        self.config = config
        if distributed.is_main():
            self._make(force, saved)
        distributed.barrier()
        self.manifest = json.loads((self.root / "manifest.json").read_text())

    def _make(self, force: bool, saved: bool) -> None:
        """Check that the folder holds this config's run (or start it over with `force`); write the config, its
        digest and the manifest when they are missing."""
        config = self.config
        saved_config = self.root / "config.yaml"
        if saved_config.is_file() and not saved and self._digest() != config.digest():
            if force:
                shutil.rmtree(self.root)
            elif _same_today(saved_config, config):
                # Made before paretohqd gained config fields: the saved config, read with today's defaults, is this
                # one. Record it in today's form so the next check is a plain digest comparison.
                write_text_atomic(saved_config, dump_config(config))
                write_text_atomic(self.root / "digest", config.digest() + "\n")
            else:
                raise ConfigMismatch(
                    f"{self.root} holds a run with a different configuration (digest {self._digest()} vs "
                    f"{config.digest()}); use another run name, or force to start this one over"
                )
        (self.root / "units").mkdir(parents=True, exist_ok=True)
        if not saved_config.is_file():
            write_text_atomic(saved_config, dump_config(config))
            write_text_atomic(self.root / "digest", config.digest() + "\n")
        if not (self.root / "manifest.json").is_file():
            write_text_atomic(self.root / "manifest.json", json.dumps(self._new_manifest(), indent=1))

    @classmethod
    def open(cls, root: str | Path) -> Run:
        """An existing run folder with the configuration it was made with."""
        from paretohqd.config import load_config

        root = Path(root)
        if not (root / "config.yaml").is_file():
            raise FileNotFoundError(f"{root} is not a run folder (it has no config.yaml)")
        return cls(root, load_config(root / "config.yaml"), saved=True)

    def _digest(self) -> str | None:
        path = self.root / "digest"
        return path.read_text().strip() if path.is_file() else None

    def _new_manifest(self) -> dict:
        return {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "config_digest": self.config.digest(),
            "seed": self.config.seed,
            "git_commit": _git_commit(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": {name: _version(name) for name in _PACKAGES},
        }

    def path(self, *parts: str) -> Path:
        """A path inside the run folder (parents created)."""
        target = self.root.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def done(self, unit: str) -> bool:
        """Whether `unit` has finished (its marker exists). To decide whether to run a unit, ask `todo`."""
        return (self.root / "units" / f"{unit}.json").is_file()

    def todo(self, unit: str, *, everyone: bool = False) -> bool:
        """Whether this process runs `unit` now, as `with run.unit(unit) as record: ...`: the unit has not finished
        (no marker), and this process runs it. Without `accelerate launch`: `not done(unit)`.

        Under `accelerate launch` every process asks, in the same order: the main process's answer holds for all.
        The main process runs every unit; with `everyone` (training), every process runs it. A process that leaves
        a unit to the main process waits here until the main process has finished it."""
        if distributed.main_value(self.done(unit)):
            return False
        if everyone or distributed.is_main():
            return True
        distributed.barrier()  # the main process's `unit` ends at this barrier
        return False

    def result(self, unit: str) -> dict:
        """What a finished unit recorded."""
        return json.loads((self.root / "units" / f"{unit}.json").read_text())

    @contextmanager
    def unit(self, name: str):
        """Time a unit of work and commit its marker when the block succeeds; the block gets a dict to fill with
        what the unit should record (counts, paths, ...). Enter it when `todo(name)` says so. Under `accelerate
        launch` the main process writes the marker, then every process waits for the others."""
        record: dict = {}
        started = datetime.now(UTC)
        wall, cpu = time.perf_counter(), time.process_time()
        yield record
        elapsed = time.perf_counter() - wall
        timing = {
            "wall_seconds": elapsed,
            "cpu_seconds": time.process_time() - cpu,
            "gpu_seconds": elapsed * _gpus_in_use(),
            "started": started.isoformat(timespec="milliseconds"),
            "finished": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        if distributed.is_main():
            marker = json.dumps({**record, **timing}, indent=1, default=str)
            write_text_atomic(self.path("units", f"{name}.json"), marker)
        distributed.barrier()

    def compute(self) -> dict:
        """Budget accounting from the unit markers: per stage (a unit's name up to its first "/": pool, select-1,
        train-1, generate-2, eval, ...) and in total, the units, wall/CPU/GPU seconds, training steps, samples
        seen in training and responses generated. "training" sums every stage but evaluation, so that methods
        are compared on what it cost to build their models."""
        keys = ("wall_seconds", "cpu_seconds", "gpu_seconds", "steps", "samples_seen", "generations")
        stages: dict[str, dict] = {}
        for marker in sorted((self.root / "units").rglob("*.json")):
            name = marker.relative_to(self.root / "units").with_suffix("").as_posix()
            record = json.loads(marker.read_text())
            row = stages.setdefault(name.split("/")[0], {"units": 0, **dict.fromkeys(keys, 0)})
            row["units"] += 1
            for key in keys:
                row[key] += record.get(key) or 0
        total = {key: sum(row[key] for row in stages.values()) for key in ("units", *keys)}
        training = {key: sum(row[key] for stage, row in stages.items() if stage != "eval") for key in ("units", *keys)}
        return {"stages": stages, "training": training, "total": total}


def read_preferences(root: str | Path) -> dict[str, list[float]]:
    """A run folder's preference vectors by label (pref-00, ...), in config order, as its stage-1 selection wrote
    them; an error naming the folder when that selection has not run."""
    path = Path(root) / PREFERENCES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{root} has no {PREFERENCES_FILE}: its stage-1 selection has not run yet")
    return json.loads(path.read_text())


def _gpus_in_use() -> int:
    """GPUs this process can use (0 without CUDA or when torch was never imported): GPU seconds = wall x this."""
    import sys

    torch = sys.modules.get("torch")
    return torch.cuda.device_count() if torch is not None and torch.cuda.is_available() else 0


def _same_today(saved: Path, config: RunConfig) -> bool:
    """Whether the config saved at `saved`, loaded by today's code (defaults for fields it lacks), is `config`."""
    from paretohqd.config import load_config

    try:
        return load_config(saved).digest() == config.digest()
    except (ValueError, FileNotFoundError):
        return False


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    """The commit of the source tree paretohqd runs from, when it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
