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
        ("MAILFEED_DIGEST_FROM", "not-an-address", "MAILFEED_DIGEST_FROM='not-an-address': Value error, 'not-an-"),
        ("MAILFEED_DIGEST_FROM", "The team <team@example.com>", "is no email address (give the address alone"),
        ("MAILFEED_BASE_URL", "not a url", "MAILFEED_BASE_URL='not a url': Value error, must be http:// or https://"),
        ("MAILFEED_BASE_URL", "https://feed.example.com?x=1", "must not have a ?query"),
        ("MAILFEED_BASE_URL", "https://feed.example.com:99999", "bad port '99999'"),
        ("MAILFEED_RELAY_URL", "smtp://", "MAILFEED_RELAY_URL='smtp://': Value error, names no host"),
        ("MAILFEED_RELAY_URL", "smtps://user:pw@relay.example.com:smtp", "bad port 'smtp'"),
        ("MAILFEED_PROXY_HEADER", "bad header:", "MAILFEED_PROXY_HEADER='bad header:': Value error, must be an HTTP"),
        ("MAILFEED_PROXY_HEADER", "", "must be an HTTP header name"),
        ("MAILFEED_ADMINS", "ann@example.com,notanaddress", "'notanaddress' is no email address"),
        ("MAILFEED_ADMINS", "example.com", "'example.com' is no email address"),
    ],
)
def test_bad_value_names_setting_and_value(monkeypatch: pytest.MonkeyPatch, name: str, value: str, needle: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert needle in str(err.value)


def test_good_addresses_and_urls_are_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILFEED_DIGEST_FROM", "digests+team@feeds.example.com")
    monkeypatch.setenv("MAILFEED_ADMINS", "Ann.Smith@Example.com, bob@bücher.example, root@localhost,")
    monkeypatch.setenv("MAILFEED_BASE_URL", "https://feed.example.com:8443/mailfeed/")
    monkeypatch.setenv("MAILFEED_RELAY_URL", "smtp+starttls://user:p%40ss@[2001:db8::25]:587")
    monkeypatch.setenv("MAILFEED_PROXY_HEADER", "X-Auth-Request-Email")
    s = load_settings()
    assert s.admin_addresses == {"ann.smith@example.com", "bob@bücher.example", "root@localhost"}
    assert s.public_url == "https://feed.example.com:8443/mailfeed"


def test_dns_records_file_is_read_at_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Not at each message's DKIM check, which quarantined every message with a traceback."""
    records = tmp_path / "records.json"
    for content, needle in [
        (None, "no such file (give a JSON file of DNS records)"),
        ("{", "is not JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        ('["v=spf1 -all"]', "must hold a JSON object of records"),
        ('{"example.com": 5}', "'example.com' must map to a record or a list of records"),
    ]:
        if content is not None:
            records.write_text(content)
        monkeypatch.setenv("MAILFEED_DNS_RESOLVER", f"file:{records}")
        with pytest.raises(ConfigError) as err:
            load_settings()
        assert f"MAILFEED_DNS_RESOLVER='file:{records}': Value error, {needle}" in str(err.value)
    records.write_text('{"example.com": "v=spf1 -all", "MX example.com": ["10 mx.example.com"]}')
    assert load_settings().dns_resolver == f"file:{records}"


def test_unknown_variable_is_refused_naming_it_and_the_nearest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILFEED_SMTP_PROT", "1")
    monkeypatch.setenv("MAILFEED_DATABSE_URL", "postgresql+psycopg://feed:s3cret@db/feed")
    monkeypatch.setenv("MAILFEED_HTTP_PORT", "lots")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == (
        "MAILFEED_DATABSE_URL: no such setting (did you mean MAILFEED_DATABASE_URL?); "
        "MAILFEED_SMTP_PROT: no such setting (did you mean MAILFEED_SMTP_PORT?); "
        "MAILFEED_HTTP_PORT='lots': Input should be a valid integer, unable to parse string as an integer"
    )  # the value of a misspelt name is left out: it may hold a password
    monkeypatch.delenv("MAILFEED_SMTP_PROT")
    monkeypatch.delenv("MAILFEED_DATABSE_URL")
    monkeypatch.delenv("MAILFEED_HTTP_PORT")
    monkeypatch.setenv("MAILFEED_XYZZY", "1")
    with pytest.raises(ConfigError, match=r"^MAILFEED_XYZZY: no such setting$"):
        load_settings()
    monkeypatch.delenv("MAILFEED_XYZZY")
    # read on purpose by the tests, bench and CI, not settings
    monkeypatch.setenv("MAILFEED_CORPUS", "/nonexistent/corpus")
    monkeypatch.setenv("MAILFEED_SOAK_MESSAGES", "100")
    load_settings()


def test_toml_syntax_error_names_file_and_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "m.toml"
    toml.write_text("http_port = 8026\nsmtp_port = \n")
    monkeypatch.setenv("MAILFEED_CONFIG", str(toml))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == f"MAILFEED_CONFIG={str(toml)!r}: not valid TOML: Invalid value (at line 2, column 13)"
    toml.write_bytes(b'digest_from = "caf\xe9@example.com"\n')
    with pytest.raises(ConfigError, match="m.toml': not UTF-8 text"):
        load_settings()


def test_unknown_toml_key_and_missing_file_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MAILFEED_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match="absent.toml"):
        load_settings()
    toml = tmp_path / "m.toml"
    toml.write_text("smtp_prot = 1\n")
    monkeypatch.setenv("MAILFEED_CONFIG", str(toml))
    with pytest.raises(ConfigError, match=r"SMTP_PROT=1: no such setting \(did you mean MAILFEED_SMTP_PORT\?\)"):
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
