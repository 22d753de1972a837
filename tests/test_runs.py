import json
from datetime import datetime

import pytest

from paretohqd.config import load_config
from paretohqd.runs import ConfigMismatch, Run, read_preferences


def test_units_are_committed_with_timings_and_records(tmp_path):
    run = Run(tmp_path / "r", load_config())
    assert not run.done("select-1")
    with run.unit("select-1") as record:
        record["k"] = 40
    assert run.done("select-1")
    assert run.result("select-1")["k"] == 40
    result = run.result("select-1")
    assert result["wall_seconds"] >= 0
    started, finished = (datetime.fromisoformat(result[key]) for key in ("started", "finished"))
    assert started.tzinfo is not None and started <= finished
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["packages"]["numpy"] and manifest["config_digest"] == load_config().digest()


def test_units_leave_the_manifest_as_it_was_written_when_the_run_was_made(tmp_path):
    run = Run(tmp_path / "r", load_config())
    before = (tmp_path / "r" / "manifest.json").read_bytes()
    with run.unit("train-1/pref-00"):
        pass
    assert (tmp_path / "r" / "manifest.json").read_bytes() == before
    assert "units" not in json.loads(before)


def test_a_failing_unit_leaves_no_marker(tmp_path):
    run = Run(tmp_path / "r", load_config())
    with pytest.raises(RuntimeError), run.unit("train-1/pref-00"):
        raise RuntimeError("boom")
    assert not run.done("train-1/pref-00")


def test_a_run_whose_stage1_selection_has_not_run_has_no_preferences_to_read(tmp_path):
    Run(tmp_path / "r", load_config())
    with pytest.raises(FileNotFoundError, match="stage-1 selection has not run yet"):
        read_preferences(tmp_path / "r")


def test_reopening_with_the_same_config_keeps_finished_units(tmp_path):
    with Run(tmp_path / "r", load_config()).unit("pool"):
        pass
    assert Run(tmp_path / "r", load_config()).done("pool")


def test_a_changed_config_is_an_error_unless_forced(tmp_path):
    with Run(tmp_path / "r", load_config()).unit("pool"):
        pass
    changed = load_config(None, ["selection.k=10"])
    with pytest.raises(ConfigMismatch, match="holds a run with a different configuration"):
        Run(tmp_path / "r", changed)
    fresh = Run(tmp_path / "r", changed, force=True)
    assert not fresh.done("pool")
    assert "k: 10" in (tmp_path / "r" / "config.yaml").read_text()


def test_a_run_made_before_a_config_field_existed_resumes(tmp_path):
    import yaml

    with Run(tmp_path / "r", load_config(None, ["selection.k=12"])).unit("pool"):
        pass
    # What an older paretohqd wrote: no `soups` section, and the digest of its own field set.
    saved = yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())
    del saved["soups"]
    (tmp_path / "r" / "config.yaml").write_text(yaml.safe_dump(saved))
    (tmp_path / "r" / "digest").write_text("0123456789abcdef\n")
    resumed = Run(tmp_path / "r", load_config(None, ["selection.k=12"]))
    assert resumed.done("pool")
    assert (tmp_path / "r" / "digest").read_text().strip() == load_config(None, ["selection.k=12"]).digest()
    with pytest.raises(ConfigMismatch):
        Run(tmp_path / "r", load_config(None, ["selection.k=13"]))
