"""Settings: strict validation naming file and field, and README's table covering every setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream.errors import ConfigError
from stream.settings import load_settings
from stream.settings_doc import rows, table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_configuration_table_is_current() -> None:
    text = README.read_text()
    assert table() in text, "README's configuration table is stale: run python -m stream.settings_doc"
    for env, _, desc in rows():
        assert desc, f"{env} has no description"


def test_env_overrides_and_nested_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMVWATCH_KAFKA__INPUT_TOPICS", '["a","b"]')
    monkeypatch.setenv("DMVWATCH_RUNTIME__ALLOWED_LATENESS_S", "60")
    s = load_settings()
    assert s.kafka.input_topics == ["a", "b"] and s.kafka.dead_letter_topic == "a.dlq"
    assert s.runtime.allowed_lateness_s == 60


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("kafka:\n  batch_size: 0\n", "kafka.batch_size"),
        ("kafka:\n  no_such_key: 1\n", "kafka.no_such_key"),
        ("runtime:\n  allowed_lateness_s: -5\n", "runtime.allowed_lateness_s"),
        ("kafka: [unclosed\n", "line 2"),  # where the parser gave up
    ],
)
def test_bad_config_file_names_file_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, field: str
) -> None:
    monkeypatch.delenv("DMVWATCH_CONFIG_FILE", raising=False)
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.source == str(path) and err.value.field == field


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DMVWATCH_REDIS__PASSWORD", "hunter2-very-secret")
    s = load_settings()
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())
    monkeypatch.setenv("DMVWATCH_KAFKA__BATCH_SIZE", "-1")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "hunter2" not in str(err.value)
