"""Settings: defaults from DESIGN.md, environment and TOML, errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("MAILFEED_"):
            monkeypatch.delenv(key)


def test_defaults_are_safe_and_local() -> None:
    s = load_settings()
    assert (s.smtp_host, s.smtp_port, s.http_host, s.http_port) == ("127.0.0.1", 2525, "127.0.0.1", 8025)
    assert s.max_message_bytes == 25 * 1024 * 1024
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith("mailfeed-data/mailfeed.sqlite3")
    assert s.http_is_loopback()


def test_environment_and_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "mailfeed.toml"
    toml.write_text('smtp_port = 2600\nallowed_senders = "Example.com, boss@other.org"\n')
    monkeypatch.setenv("MAILFEED_CONFIG", str(toml))
    monkeypatch.setenv("MAILFEED_HTTP_PORT", "9000")
    s = load_settings()
    assert (s.smtp_port, s.http_port) == (2600, 9000)
    assert s.allowed == {"example.com", "boss@other.org"}


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("MAILFEED_DATABASE_URL", "mysql://x", "MAILFEED_DATABASE_URL='mysql://x'"),
        ("MAILFEED_RELAY_URL", "http://relay", "MAILFEED_RELAY_URL='http://relay'"),
        ("MAILFEED_MAX_MESSAGE_BYTES", "-1", "MAILFEED_MAX_MESSAGE_BYTES='-1'"),
        ("MAILFEED_SQLITE_SYNCHRONOUS", "off", "MAILFEED_SQLITE_SYNCHRONOUS='off'"),
        ("MAILFEED_DNS_RESOLVER", "dns:resolver.example", "'resolver.example' is no IP address"),
        ("MAILFEED_DNS_RESOLVER", "dns:::1", "an IPv6 one goes in brackets"),
        ("MAILFEED_DNS_RESOLVER", "dns:192.0.2.53:99999", "bad port '99999'"),
        ("MAILFEED_DNS_RESOLVER", "8.8.8.8", "must be system, dns:HOST[:PORT] or file:"),
    ],
)
def test_bad_value_names_setting_and_value(monkeypatch: pytest.MonkeyPatch, name: str, value: str, needle: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert needle in str(err.value)


def test_unknown_toml_key_and_missing_file_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MAILFEED_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="absent.toml"):
        load_settings()
    toml = tmp_path / "m.toml"
    toml.write_text("smtp_prot = 1\n")
    monkeypatch.setenv("MAILFEED_CONFIG", str(toml))
    with pytest.raises(ConfigError, match="SMTP_PROT"):
        load_settings()


def test_non_loopback_http_is_detected() -> None:
    assert not load_settings(http_host="0.0.0.0").http_is_loopback()
    assert load_settings(http_host="::1").http_is_loopback()


def test_a_named_dns_server_is_taken_with_its_port() -> None:
    from gateway.authenticity import dns_server

    assert load_settings(dns_resolver="dns:192.0.2.53").dns_resolver == "dns:192.0.2.53"
    assert dns_server("dns:192.0.2.53") == ("192.0.2.53", 53)
    assert dns_server("dns:127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert dns_server("dns:[::1]:5353") == ("::1", 5353)
