"""Settings come from the environment; a missing or bad value stops the process by name."""

from __future__ import annotations

import pytest

from rampart.lib.settings import ServiceSettings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MONGODB_URL", "NATS_URL", "PORT", "METRICS_PORT", "RAMPART_ENV"):
        monkeypatch.delenv(name, raising=False)


def test_missing_required_values_are_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SettingsError) as stopped:
        load_settings(ServiceSettings)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "missing required environment variable MONGODB_URL" in err
    assert "missing required environment variable NATS_URL" in err


def test_invalid_value_is_named(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MONGODB_URL", "mongodb://127.0.0.1:1")
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:2")
    monkeypatch.setenv("PORT", "99999")
    with pytest.raises(SettingsError):
        load_settings(ServiceSettings)
    assert "invalid environment variable PORT" in capsys.readouterr().err


def test_values_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URL", "mongodb://db:27017")
    monkeypatch.setenv("NATS_URL", "nats://broker:4222")
    monkeypatch.setenv("PORT", "6000")
    monkeypatch.setenv("RAMPART_ENV", "production")
    settings = load_settings(ServiceSettings)
    assert (settings.port, settings.mongodb_url, settings.nats_url) == (
        6000,
        "mongodb://db:27017",
        "nats://broker:4222",
    )
    assert settings.rampart_env == "production"
