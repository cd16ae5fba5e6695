import json

import pytest

from fleet.config import LogConfig
from fleet.logging import configure_logging, get_logger


@pytest.fixture(autouse=True)
def _restore_logging():
    yield
    configure_logging(LogConfig())


def test_json_lines(capsys):
    configure_logging(LogConfig(format="json", level="info"))
    get_logger("test").info("appended", stream="msn-1", events=3)
    get_logger("test").debug("hidden")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["event"] == "appended"
    assert record["stream"] == "msn-1"
    assert record["component"] == "test"
    assert record["level"] == "info"
    assert "timestamp" in record


def test_console_key_values(capsys):
    configure_logging(LogConfig(format="console", level="debug"))
    get_logger("test").debug("hello", answer=42)
    err = capsys.readouterr().err
    assert "hello" in err
    assert "answer=42" in err
