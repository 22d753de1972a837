"""Run directories: everything a run made, in one folder, committed unit by unit so that a rerun resumes.

Layout: config.yaml (the resolved config), manifest.json (versions, seeds, git commit, per-unit timings), units/
(one JSON marker per finished unit of work), and whatever the units write. A unit's outputs are written first
(atomically), its marker last: a unit without a marker is redone, a unit with one is never redone. Reopening a run
with a different config is an error unless `force` starts it over.
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

from paretohqd.config import RunConfig, dump_config
from paretohqd.files import write_text_atomic

_PACKAGES = ("paretohqd", "numpy", "numba", "moocore", "torch", "transformers", "peft", "trl", "datasets")


class ConfigMismatch(ValueError):
    """The run folder holds a run of another configuration."""


class Run:
    """A run folder bound to one configuration."""

    def __init__(self, root: str | Path, config: RunConfig, *, force: bool = False):
        self.root = Path(root)
        self.config = config
        saved = self.root / "config.yaml"
        if saved.is_file() and self._digest() != config.digest():
            if not force:
                raise ConfigMismatch(
                    f"{self.root} holds a run with a different configuration (digest {self._digest()} vs "
                    f"{config.digest()}); use another run name, or force to start this one over"
                )
            shutil.rmtree(self.root)
        (self.root / "units").mkdir(parents=True, exist_ok=True)
        if not saved.is_file():
            write_text_atomic(saved, dump_config(config))
            write_text_atomic(self.root / "digest", config.digest() + "\n")
        self.manifest = self._load_manifest()

    def _digest(self) -> str | None:
        path = self.root / "digest"
        return path.read_text().strip() if path.is_file() else None

    def _load_manifest(self) -> dict:
        path = self.root / "manifest.json"
        if path.is_file():
            return json.loads(path.read_text())
        manifest = {
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "config_digest": self.config.digest(),
            "seed": self.config.seed,
            "git_commit": _git_commit(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": {name: _version(name) for name in _PACKAGES},
            "units": {},
        }
        write_text_atomic(path, json.dumps(manifest, indent=1))
        return manifest

    def path(self, *parts: str) -> Path:
        """A path inside the run folder (parents created)."""
        target = self.root.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def done(self, unit: str) -> bool:
        return (self.root / "units" / f"{unit}.json").is_file()

    def result(self, unit: str) -> dict:
        """What a finished unit recorded."""
        return json.loads((self.root / "units" / f"{unit}.json").read_text())

    @contextmanager
    def unit(self, name: str):
        """Time a unit of work and commit its marker when the block succeeds; the block gets a dict to fill with
        what the unit should record (counts, paths, ...). Callers check `done(name)` first to skip finished units."""
        record: dict = {}
        wall, cpu = time.perf_counter(), time.process_time()
        yield record
        timing = {"wall_seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}
        self.manifest["units"][name] = {**timing, "finished": datetime.now(UTC).isoformat(timespec="seconds")}
        write_text_atomic(self.root / "manifest.json", json.dumps(self.manifest, indent=1))
        write_text_atomic(self.path("units", f"{name}.json"), json.dumps({**record, **timing}, indent=1, default=str))


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
