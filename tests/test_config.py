import pytest

from paretohqd.config import RunConfig, dump_config, load_config, shipped_configs


def test_defaults_need_no_file():
    config = load_config()
    assert config == RunConfig()
    assert config.selection.k == 40 and config.selection.pool_factor == 3.0


def test_yaml_maps_onto_the_dataclasses_and_overrides_win(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: x\nselection: {k: 12}\ntrain: {steps: 7, lr: 1.0e-3}\npreferences: [[1, 0], [0.5, 0.5]]\n")
    config = load_config(path, ["selection.k=20", "stage2.generation.max_new_tokens=16", "stage2.enabled=false"])
    assert config.name == "x"
    assert config.selection.k == 20
    assert config.train.steps == 7 and config.train.lr == 1e-3
    assert config.preferences == ((1.0, 0.0), (0.5, 0.5))
    assert config.stage2.generation.max_new_tokens == 16 and config.stage2.enabled is False


def test_a_dumped_config_loads_back_identically(tmp_path):
    config = load_config(None, ["preferences=[[0.2, 0.8]]", "selection.quantiles=[0.01, 0.99]"])
    (tmp_path / "c.yaml").write_text(dump_config(config))
    again = load_config(tmp_path / "c.yaml")
    assert again == config and again.digest() == config.digest()


def test_digest_changes_with_any_value():
    assert load_config(None, ["selection.k=41"]).digest() != RunConfig().digest()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["selection.kk=3"], r"config.selection: unknown key\(s\) kk; valid keys: k, pool_factor"),
        (["selection.k=three"], r"config.selection.k must be int; got 'three'"),
        (["train.steps=true"], r"config.train.steps must be int; got True"),
        (["preferences=[[1, 0], 3]"], r"config.preferences\[1\] must be a list; got 3"),
        (["method=rics"], r"config.method: unknown method 'rics'"),
        (["selection=5"], r"config.selection must be a mapping; got 5"),
        (["k"], r"override 'k' must look like section.key=value"),
    ],
)
def test_bad_configs_name_the_key(overrides, message):
    with pytest.raises(ValueError, match=message):
        load_config(None, overrides)


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config file"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("name", ["demo", "chat_offline_full", "helpful_assistant", "reddit_summary"])
def test_shipped_configs_load(name):
    config = load_config(shipped_configs()[name])
    assert config.name.replace("-", "_") == name


def test_a_config_extends_another_and_overrides_section_by_section(tmp_path):
    (tmp_path / "base.yaml").write_text("name: base\nselection:\n  k: 12\n  pool_factor: 2.0\ntrain:\n  steps: 9\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\nselection:\n  k: 5\n")
    config = load_config(tmp_path / "child.yaml")
    assert (config.name, config.selection.k, config.selection.pool_factor, config.train.steps) == ("child", 5, 2.0, 9)
    shipped = tmp_path / "ric.yaml"
    shipped.write_text("extends: demo\nmethod: ric\n")
    assert load_config(shipped).preferences == load_config("demo").preferences


def test_extends_errors_name_the_file(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ValueError, match="loops back"):
        load_config(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("extends: nowhere.yaml\n")
    with pytest.raises(FileNotFoundError, match="no config file nowhere.yaml"):
        load_config(tmp_path / "c.yaml")


def test_a_float_written_without_a_dot_is_read_as_a_number():
    assert load_config(None, ["ric.online_lr=2e-5"]).ric.online_lr == 2e-5
