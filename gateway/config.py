"""Settings: every knob mailfeed reads, from `MAILFEED_*` variables or a TOML file.

Only the CLI builds `Settings` from the environment; everything else gets it
passed in, so a test can build as many apps and servers as it likes.
Imports nothing from gateway.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MIB = 1024 * 1024

# MAILFEED_* variables that are no setting but are read on purpose: the TOML file's path, the
# shared mail corpus of the tests and bench (tests/conftest.py, .ci/run) and the soak test's count
NOT_SETTINGS = frozenset({"MAILFEED_CONFIG", "MAILFEED_CORPUS", "MAILFEED_SOAK_MESSAGES"})

# An address as mailfeed writes it in From: and compares it with a reader's: local@domain alone
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
_ADDRESS = re.compile(rf"[^\s@<>()\[\],;:\"\\]+@{_LABEL}(?:\.{_LABEL})*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token

URL_SETTINGS = frozenset({"database_url", "relay_url", "base_url"})  # user:password@: errors show ***


class ConfigError(Exception):
    """A setting has a value mailfeed cannot use; the message names both."""


class Settings(BaseSettings):
    """mailfeed's settings; each field is documented in the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="MAILFEED_", extra="forbid")

    data_dir: Path = Path("./mailfeed-data")
    database_url: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(2525, ge=0, le=65535)
    http_host: str = "127.0.0.1"
    http_port: int = Field(8025, ge=0, le=65535)
    base_url: str = ""
    relay_url: str = ""
    digest_from: str = ""
    digest_clock_start: datetime | None = None  # tests and drills: the digest clock starts here, then runs
    max_message_bytes: int = Field(25 * MIB, gt=0)
    max_attachment_bytes: int = Field(10 * MIB, ge=0)
    max_recipients: int = Field(50, ge=1)
    max_headers: int = Field(1000, ge=10)
    max_header_bytes: int = Field(256 * 1024, ge=1024)
    max_mime_parts: int = Field(500, ge=1)
    max_mime_depth: int = Field(20, ge=1)
    max_attachments: int = Field(100, ge=0)
    unknown_senders: str = "refuse"
    trusted_authserv_ids: str = ""
    verify_dkim: bool = False
    dns_resolver: str = "system"
    rate_per_sender: int = Field(120, ge=0)
    rate_per_client: int = Field(600, ge=0)
    allowed_senders: str = ""
    automated_senders: str = ""
    trusted_lists: str = ""
    secret_key: str = ""
    thread_subject_window_days: int = Field(30, ge=0)
    workers: int = Field(0, ge=0)
    sqlite_synchronous: str = "FULL"
    log_level: str = "INFO"
    log_format: str = "text"
    serve_smtp: bool = True
    serve_web: bool = True
    serve_imap: bool = True
    serve_digests: bool = True
    health_max_pending_seconds: int = Field(300, ge=1)
    health_min_free_bytes: int = Field(1024 * MIB, ge=0)
    imap_idle_seconds: int = Field(1500, ge=10)
    # in IDLE, a follower ends IDLE and begins it again this often, and takes a server silent as long for dead
    imap_idle_check_seconds: int = Field(60, ge=1)
    imap_poll_seconds: int = Field(60, ge=1)
    imap_backoff_max_seconds: int = Field(300, ge=1)
    imap_lease_seconds: int = Field(60, gt=0)
    imap_ca_file: str = ""
    auth: str = "open"
    proxy_header: str = "X-Forwarded-Email"
    proxy_trusted: str = "127.0.0.1,::1"
    admins: str = ""
    readers: str = ""
    session_days: int = Field(30, ge=1)
    signin_minutes: int = Field(15, ge=1)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @field_validator("relay_url")
    @classmethod
    def _known_relay(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise ValueError("must be smtp://, smtps:// or smtp+starttls://")
        if not parts.hostname:
            raise ValueError("names no host: give smtp://host:25, smtps://u:p@host:465 or smtp+starttls://u:p@host:587")
        _check_port(parts)
        if parts.scheme == "smtp" and (parts.username or parts.password):  # the password in clear text on the wire
            raise ValueError("gives a user and password without TLS: use smtp+starttls://…:587 or smtps://…:465")
        return value

    @field_validator("base_url")
    @classmethod
    def _web_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", value):
            raise ValueError("must be http:// or https:// and a host, e.g. https://feed.example.com")
        if parts.query or parts.fragment or "@" in parts.netloc:  # a user:password would be in every link mailed
            raise ValueError("must not have a user@, ?query or #fragment: links are made by adding a path to it")
        _check_port(parts)
        return value

    @field_validator("digest_from")
    @classmethod
    def _from_address(cls, value: str) -> str:
        if value and not _ADDRESS.fullmatch(value):
            raise ValueError(
                f"{value!r} is no email address (give the address alone, e.g. feed@example.com;"
                " digests are sent under the feed's title)"
            )
        return value

    @field_validator("admins")
    @classmethod
    def _admin_addresses(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip() and not _ADDRESS.fullmatch(part.strip()):
                raise ValueError(f"{part.strip()!r} is no email address (give addresses, comma-separated)")
        return value

    @field_validator("proxy_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not _HEADER_NAME.fullmatch(value):
            raise ValueError("must be an HTTP header name: letters, digits and -, e.g. X-Forwarded-Email")
        return value

    @field_validator("digest_clock_start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2026-03-27T09:00:00+00:00")
        return value

    @field_validator("sqlite_synchronous")
    @classmethod
    def _known_sync(cls, value: str) -> str:
        if value.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("must be FULL, NORMAL or EXTRA")
        return value.upper()

    @field_validator("auth")
    @classmethod
    def _known_auth(cls, value: str) -> str:
        if value.lower() not in ("open", "proxy", "email"):
            raise ValueError("must be open, proxy or email")
        return value.lower()

    @field_validator("proxy_trusted")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError names the bad part
        return value

    @field_validator("unknown_senders")
    @classmethod
    def _known_action(cls, value: str) -> str:
        if value not in ("refuse", "hold"):
            raise ValueError("must be refuse or hold")
        return value

    @field_validator("dns_resolver")
    @classmethod
    def _known_resolver(cls, value: str) -> str:
        if value.startswith("dns:"):
            from gateway.authenticity import dns_server

            dns_server(value)  # its ValueError says what is wrong
        elif value.startswith("file:"):
            from gateway.authenticity import check_records_file

            check_records_file(value.removeprefix("file:"))  # here, not at each message's DKIM check
        elif value != "system":
            raise ValueError("must be system, dns:HOST[:PORT] or file:/path/to/records.json")
        return value

    @field_validator("imap_ca_file")
    @classmethod
    def _ca_file(cls, value: str) -> str:
        if value and not Path(value).is_file():
            raise ValueError("no such file (give a PEM file of the CA certificates to trust)")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value.lower() not in ("text", "json"):
            raise ValueError("must be text or json")
        return value.lower()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = os.environ.get("MAILFEED_CONFIG")
        if toml:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    @property
    def public_url(self) -> str:
        """The web's address for links mailfeed mails out (digests, notices, sign-in links): never
        the Host header of a request, which whoever sends the request writes."""
        return (self.base_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @property
    def db_url(self) -> str:
        """The database to use: `DATABASE_URL`, or SQLite inside `DATA_DIR`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mailfeed.sqlite3').resolve()}"

    @property
    def trusted(self) -> frozenset[str]:
        """TRUSTED_AUTHSERV_IDS as lower-case authserv-ids."""
        return _entries(self.trusted_authserv_ids)

    @property
    def allowed(self) -> frozenset[str]:
        """`ALLOWED_SENDERS` as lower-case domains and addresses."""
        return _entries(self.allowed_senders)

    @property
    def automated(self) -> frozenset[str]:
        """`AUTOMATED_SENDERS` as lower-case domains and addresses."""
        return _entries(self.automated_senders)

    @property
    def lists(self) -> frozenset[str]:
        """`TRUSTED_LISTS` as lower-case domains and addresses."""
        return _entries(self.trusted_lists)

    @property
    def admin_addresses(self) -> frozenset[str]:
        """`ADMINS` as lower-case addresses."""
        return _entries(self.admins)

    @property
    def reader_patterns(self) -> frozenset[str]:
        """Who may sign in by email: `READERS`, else `ALLOWED_SENDERS` (empty: anyone)."""
        return _entries(self.readers or self.allowed_senders)

    @property
    def trusted_proxies(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(p.strip(), strict=False) for p in self.proxy_trusted.split(",") if p.strip()]

    def http_is_loopback(self) -> bool:
        """True when the web server binds to a loopback address only."""
        if self.http_host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.http_host).is_loopback
        except ValueError:
            return False


def _check_port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:  # not a number, or out of range; with no user@, no number may be a password (see below)
        port = parts.netloc.rpartition(":")[2]
        raise ValueError(f"bad port {port!r}" if "@" in parts.netloc or port.isdigit() else "bad port") from None


def hide_password(value: str) -> tuple[str, str]:
    """A URL-valued setting as errors and logs may show it (its password as ***), and the password ("" if none).

    Read as leniently as SQLAlchemy reads URLs: from the first ":" after "scheme://" to the last "@"; with
    no "@", a port that is no number is one too (a host left out: "smtp://user:secret").
    """
    start = value.find("://") + 3 if "://" in value else 0
    at, colon = value.rfind("@"), value.find(":", start)
    end = at if at >= start else min((i for i in (value.find(c, start) for c in "/?#") if i >= 0), default=len(value))
    if at < start:
        colon = value.rfind(":", start, end)
    password = value[colon + 1 : end] if 0 <= colon < end else ""
    if at < start and (password.isdigit() or "]" in password):  # a port, or an IPv6 address's last group
        password = ""
    return (f"{value[: colon + 1]}***{value[end:]}", password) if password else (value, "")


def _variables() -> frozenset[str]:
    """Every MAILFEED_* variable mailfeed or its tests read."""
    return frozenset(f"MAILFEED_{field.upper()}" for field in Settings.model_fields) | NOT_SETTINGS


def _near(name: str) -> str:
    """' (did you mean MAILFEED_X?)' for the setting `name` most likely misspells, or ''."""
    known = sorted(n.removeprefix("MAILFEED_") for n in _variables())
    close = difflib.get_close_matches(name.removeprefix("MAILFEED_"), known, n=1)  # the prefix alike in all
    return f" (did you mean MAILFEED_{close[0]}?)" if close else ""


def _unknown_variables() -> list[str]:
    """The MAILFEED_* environment variables that name no setting (their values are not shown: a
    misspelt MAILFEED_DATABASE_URL holds a password)."""
    known = _variables()
    return [
        f"{key}: no such setting{_near(key.upper())}"
        for key in sorted(os.environ)
        if key.upper().startswith("MAILFEED_") and key.upper() not in known
    ]


def _toml_problem(path: str) -> str | None:
    """What keeps the TOML file at `path` from being read, or None."""
    if not Path(path).is_file():
        return f"MAILFEED_CONFIG={path!r}: no such file"
    try:
        tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        return f"MAILFEED_CONFIG={path!r}: cannot be read: {exc.strerror or exc}"
    except UnicodeDecodeError:
        return f"MAILFEED_CONFIG={path!r}: not UTF-8 text, as TOML must be"
    except tomllib.TOMLDecodeError as exc:
        return f"MAILFEED_CONFIG={path!r}: not valid TOML: {exc}"
    return None


def _entries(value: str) -> frozenset[str]:
    """A comma-separated setting's entries, lower-cased, empty ones left out."""
    return frozenset(p.strip().lower() for p in value.split(",") if p.strip())


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment (and MAILFEED_CONFIG), or raise ConfigError naming each bad setting
    and the value given (a URL's password as ***), and each MAILFEED_* variable that is no setting."""
    problems = _unknown_variables()
    toml = os.environ.get("MAILFEED_CONFIG")
    toml_problem = _toml_problem(toml) if toml else None
    if toml_problem:
        raise ConfigError("; ".join([*problems, toml_problem]))
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        for err in exc.errors():
            name = "MAILFEED_" + "_".join(str(p) for p in err["loc"]).upper()
            value = err.get("input")
            if err["type"] == "extra_forbidden":  # a TOML key that is no setting: its value unseen, as above
                problems.append(f"{name}: no such setting{_near(name)}")
            else:  # a URL's password as ***
                url = err["loc"] and err["loc"][0] in URL_SETTINGS and isinstance(value, str)
                problems.append(f"{name}={hide_password(value)[0] if url else value!r}: {err['msg']}")
        raise ConfigError("; ".join(problems)) from None
    if problems:
        raise ConfigError("; ".join(problems))
    return settings
