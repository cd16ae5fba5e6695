from pathlib import Path

import pytest

from fleet.config import Config, load_config, with_overrides
from fleet.errors import ConfigError


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(environ={})
    assert config == Config()
    assert config.database.url == "sqlite:///.fleet/fleet.db"
    assert config.database.synchronous == "FULL"


def test_checked_in_file_matches_defaults():
    root = Path(__file__).parent.parent
    config = load_config(root / "config.toml", environ={})
    assert msgspec_equal(config, Config(project_dir=str(root)))


def msgspec_equal(a, b):
    import msgspec

    return msgspec.to_builtins(a) == msgspec.to_builtins(b)


def test_file_values_and_project_dir(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text('[database]\nurl = "sqlite:///x.db"\n[store]\nmax_batch_events = 7\n')
    config = load_config(path, environ={})
    assert config.database.url == "sqlite:///x.db"
    assert config.store.max_batch_events == 7
    assert config.project_dir == str(tmp_path)


def test_unknown_key_names_key_and_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[database]\nulr = 'x'\n")
    with pytest.raises(ConfigError, match=r"ulr.*|bad\.toml") as info:
        load_config(path, environ={})
    assert "ulr" in str(info.value)
    assert str(path) in str(info.value)


def test_unknown_section_is_an_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[databse]\nurl = 'x'\n")
    with pytest.raises(ConfigError, match="databse"):
        load_config(path, environ={})


def test_wrong_type_and_range(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[store]\nmax_batch_events = 0\n")
    with pytest.raises(ConfigError, match="max_batch_events"):
        load_config(path, environ={})


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[database\n")
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_config(broken, environ={})


def test_environment_overrides_file(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text("[store]\nmax_batch_events = 7\n")
    env = {"FLEET_STORE_MAX_BATCH_EVENTS": "99", "FLEET_LOG_FORMAT": "json", "OTHER": "x"}
    config = load_config(path, environ=env)
    assert config.store.max_batch_events == 99
    assert config.log.format == "json"


def test_environment_bad_value_and_unknown_key(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text("")
    with pytest.raises(ConfigError, match="environment overrides"):
        load_config(path, environ={"FLEET_STORE_MAX_BATCH_EVENTS": "lots"})
    with pytest.raises(ConfigError, match="FLEET_STORE_NOPE"):
        load_config(path, environ={"FLEET_STORE_NOPE": "1"})


def test_environment_cannot_override_a_non_table(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text('store = "flat"\n')
    with pytest.raises(ConfigError):
        load_config(path, environ={"FLEET_STORE_MAX_BATCH_EVENTS": "3"})


def test_with_overrides():
    config = with_overrides(Config(), server={"port": 0}, database={"url": "sqlite:///:memory:"})
    assert config.server.port == 0
    assert config.database.url == "sqlite:///:memory:"
    assert config.store == Config().store
    with pytest.raises(ConfigError, match="unknown configuration section 'nope'"):
        with_overrides(Config(), nope={"a": 1})
    with pytest.raises(ConfigError, match="port"):
        with_overrides(Config(), server={"port": -1})


def test_config_is_frozen():
    config = Config()
    with pytest.raises(AttributeError):
        config.project_dir = "/"  # type: ignore[misc]
