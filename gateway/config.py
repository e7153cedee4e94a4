"""Settings: every knob mailfeed reads, from `MAILFEED_*` variables or a TOML file.

Only the CLI builds `Settings` from the environment; everything else gets it
passed in, so a test can build as many apps and servers as it likes.
Imports nothing from gateway.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MIB = 1024 * 1024


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
        if value and urlsplit(value).scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise ValueError("must be smtp://, smtps:// or smtp+starttls://")
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
        elif value != "system" and not value.startswith("file:"):
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


def _entries(value: str) -> frozenset[str]:
    """A comma-separated setting's entries, lower-cased, empty ones left out."""
    return frozenset(p.strip().lower() for p in value.split(",") if p.strip())


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment (and MAILFEED_CONFIG), or fail naming the setting.

    Raises ConfigError whose message names each bad setting and the value given.
    """
    toml = os.environ.get("MAILFEED_CONFIG")
    if toml and not Path(toml).is_file():
        raise ConfigError(f"MAILFEED_CONFIG={toml!r}: no such file")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "MAILFEED_" + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{name}={err.get('input')!r}: {err['msg']}")
        raise ConfigError("; ".join(problems)) from None
