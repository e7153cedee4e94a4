"""Settings: defaults from DESIGN.md, environment and TOML, errors that name the setting."""

from __future__ import annotations

import os
import subprocess
import sys
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
        ("MAILFEED_BASE_URL", "https://feed.example.com?x=1", "must not have a user@, ?query or #fragment"),
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
    with pytest.raises(
        ConfigError, match=r"^MAILFEED_SMTP_PROT: no such setting \(did you mean MAILFEED_SMTP_PORT\?\)$"
    ):
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


# No error holds a password -------------------------------------------------------------------------------------

SECRET = "s3cr3t"


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        (
            "MAILFEED_DATABASE_URL",
            f"mysql://dbuser:{SECRET}DB@127.0.0.1/db",
            "MAILFEED_DATABASE_URL='mysql://dbuser:***@127.0.0.1/db': Value error, must start with sqlite://",
        ),
        (
            "MAILFEED_DATABASE_URL",  # no scheme at all
            f"dbuser:{SECRET}DB@127.0.0.1/db",
            "MAILFEED_DATABASE_URL='dbuser:***@127.0.0.1/db': Value error, must start with",
        ),
        (
            "MAILFEED_RELAY_URL",
            f"ftp://relayuser:{SECRET}PW@127.0.0.1:2627",
            "MAILFEED_RELAY_URL='ftp://relayuser:***@127.0.0.1:2627': Value error, must be smtp://",
        ),
        (
            "MAILFEED_RELAY_URL",
            f"smtp://relayuser:{SECRET}PW@127.0.0.1:99999",
            "MAILFEED_RELAY_URL='smtp://relayuser:***@127.0.0.1:99999': Value error, bad port '99999'",
        ),
        (
            "MAILFEED_RELAY_URL",  # the host left out: the password reads as the port
            f"smtp://relayuser:{SECRET}PW",
            "MAILFEED_RELAY_URL='smtp://relayuser:***': Value error, bad port",
        ),
        (
            "MAILFEED_RELAY_URL",  # "/" in the password, unescaped: urlsplit ends the host there
            f"smtp+starttls://relayuser:{SECRET}/PW@relay.example.com:587",
            "MAILFEED_RELAY_URL='smtp+starttls://relayuser:***@relay.example.com:587': Value error, bad port",
        ),
        (
            "MAILFEED_RELAY_URL",
            f"smtps://relayuser:{SECRET}PW@",
            "MAILFEED_RELAY_URL='smtps://relayuser:***@': Value error, names no host",
        ),
        (
            "MAILFEED_RELAY_URL",  # a password over plain SMTP would cross the wire in clear text
            f"smtp://relayuser:{SECRET}PW@relay.example.com:25",
            "MAILFEED_RELAY_URL='smtp://relayuser:***@relay.example.com:25': Value error, gives a user and password "
            "without TLS: use smtp+starttls://…:587 or smtps://…:465",
        ),
        (
            "MAILFEED_BASE_URL",
            f"https://reader:{SECRET}@feed.example.com/",  # it would be in every link of every digest
            "MAILFEED_BASE_URL='https://reader:***@feed.example.com/': Value error, must not have a user@",
        ),
        (
            "MAILFEED_BASE_URL",
            f"https://reader:{SECRET}@feed.example.com/?x=1",
            "MAILFEED_BASE_URL='https://reader:***@feed.example.com/?x=1': Value error, must not have a user@",
        ),
    ],
)
def test_a_bad_url_setting_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, shown: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert shown in str(err.value) and SECRET not in str(err.value), str(err.value)


def test_a_toml_file_s_urls_and_misspelt_keys_show_no_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "m.toml"
    toml.write_text(
        f'database_url = "mysql://dbuser:{SECRET}@db/feed"\n'
        f'relay_urll = "smtp://relayuser:{SECRET}@relay.example.com:587"\n'
    )
    monkeypatch.setenv("MAILFEED_CONFIG", str(toml))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == (
        "MAILFEED_DATABASE_URL='mysql://dbuser:***@db/feed': Value error, must start with sqlite:// or "
        "postgresql+psycopg://; MAILFEED_RELAY_URLL: no such setting (did you mean MAILFEED_RELAY_URL?)"
    )


def test_a_url_without_a_password_is_shown_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the password goes: the rest of the value is what the admin needs to see to fix it."""
    monkeypatch.setenv("MAILFEED_RELAY_URL", "smtp://[2001:db8::25]:99999")
    monkeypatch.setenv("MAILFEED_BASE_URL", "https://feed.example.com:8443/mail@feed?x=1")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "MAILFEED_RELAY_URL='smtp://[2001:db8::25]:99999': Value error, bad port '99999'" in str(err.value)
    # an "@" in the path reads as user:password@ (as SQLAlchemy reads it): shown without what could be one
    assert "MAILFEED_BASE_URL='https://feed.example.com:***@feed?x=1'" in str(err.value)


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        (
            "MAILFEED_RELAY_URL",
            f"ftp://relayuser:{SECRET}PW@127.0.0.1:2627",
            "mailfeed: error: MAILFEED_RELAY_URL='ftp://relayuser:***@127.0.0.1:2627': Value error, must be smtp://",
        ),
        (
            "MAILFEED_DATABASE_URL",
            f"mysql://dbuser:{SECRET}DB@127.0.0.1/db",
            "mailfeed: error: MAILFEED_DATABASE_URL='mysql://dbuser:***@127.0.0.1/db': Value error, must start",
        ),
        (
            "MAILFEED_DATABASE_URL",  # SQLAlchemy cannot read it, and its error quotes the "port"
            f"postgresql+psycopg://dbuser:{SECRET}DB/db",
            "mailfeed: error: cannot open the database (postgresql+psycopg://dbuser:***/db): "
            "invalid literal for int() with base 10: '***'",
        ),
        (
            "MAILFEED_DATABASE_URL",
            f"postgresql+psycopg://dbuser:{SECRET}DB@127.0.0.1:notaport/db",
            "mailfeed: error: cannot open the database (postgresql+psycopg://dbuser:***@127.0.0.1:notaport/db): ",
        ),
    ],
)
def test_the_command_s_error_about_a_setting_holds_no_password(
    tmp_path: Path, name: str, value: str, shown: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFEED_")}
    env.update({"MAILFEED_DATA_DIR": str(tmp_path / "data"), name: value})
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "feed", "list"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and result.stderr.startswith(shown), result.stderr
    assert SECRET not in result.stderr + result.stdout and "Traceback" not in result.stderr
