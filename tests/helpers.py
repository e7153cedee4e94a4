"""Small helpers shared by tests: building messages, running the real SMTP server, polling."""

from __future__ import annotations

import email
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TypeVar

from typer.testing import CliRunner, Result

from gateway.analysis import Analysis, Job, analyse
from gateway.config import Settings
from gateway.extract import Content
from gateway.ingest.smtp import GatewayController, start_smtp
from gateway.store import writes
from gateway.store.db import Store
from gateway.worker import Processor
from tests.servers import free_port

T = TypeVar("T")
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


EML = Path(__file__).parent / "data" / "eml"


def analysed_fixture(name: str, lists: frozenset[str] = frozenset()) -> Analysis:
    """Steps 3 to 6, as a worker runs them, on the fixture tests/data/eml/<name>."""
    return analysed((EML / name).read_bytes(), lists)


def analysed(raw: bytes, lists: frozenset[str] = frozenset()) -> Analysis:
    result = analyse(Job(0, raw, None, frozenset(), lists=lists))
    assert isinstance(result, Analysis), result
    return result


def html_only(name: str) -> bytes:
    """The fixture tests/data/eml/<name> with its HTML part as its only body, as HTML-only mailers send it."""
    msg = email.message_from_bytes((EML / name).read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    html = msg.get_body(preferencelist=("html",))
    assert html is not None
    del msg["Content-Type"]
    msg.set_content(str(html.get_content()), subtype="html")
    return msg.as_bytes()


def html_of(content: Content) -> str:
    assert content.html is not None
    return content.html


def make_mail(
    *,
    message_id: str | None,
    subject: str = "Quarterly plan",
    sender: str = "Ann Author <ann@example.com>",
    to: str = "team@example.com",
    body: str = "Hello team,\n\nhere is the plan.\n",
    in_reply_to: str | None = None,
    references: str | None = None,
    minutes: int = 0,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(BASE + timedelta(minutes=minutes))
    if message_id:
        msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    msg.set_content(body)
    return msg.as_bytes()


def add_feed(store: Store, slug: str = "team", address: str = "team@example.com") -> int:
    with store.write() as session, session.begin():
        feed = writes.add_feed(session=session, slug=slug, address=address)
        assert feed.id is not None
        return feed.id


@dataclass
class RunningSMTP:
    host: str
    port: int
    controller: GatewayController
    processor: Processor


@contextmanager
def smtp_server(settings: Settings, store: Store) -> Iterator[RunningSMTP]:
    """The real aiosmtpd server on 127.0.0.1 with the processor behind it, as `serve` runs them."""
    settings = settings.model_copy(update={"smtp_port": free_port()})
    processor = Processor(store, settings, map)
    processor.start()
    controller, writer = start_smtp(settings, store, processor.wake)
    try:
        yield RunningSMTP(settings.smtp_host, settings.smtp_port, controller, processor)
    finally:
        controller.stop()
        writer.close()
        processor.stop()


def wait_for(check: Callable[[], T], timeout: float = 20.0, interval: float = 0.05) -> T:
    """Poll `check` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    assert value, f"condition not met within {timeout} s (last value {value!r})"
    return value


def in_process_cli(tmp_path: Path, **env: str) -> Callable[..., Result]:
    """`mailfeed` in typer's runner, on SQLite under tmp_path/data, with `env` set besides.

    Each call takes the command's words and the exit code it must end with (`code`, 0 by default).
    """
    from gateway import cli
    from gateway.cli import app

    runner = CliRunner(
        env={
            "MAILFEED_DATA_DIR": str(tmp_path / "data"),
            "MAILFEED_DATABASE_URL": "",
            "MAILFEED_WORKERS": "1",
            "MAILFEED_SQLITE_SYNCHRONOUS": "NORMAL",
            "MAILFEED_CONFIG": None,
            **env,
        }
    )

    def run(*args: str, code: int = 0) -> Result:
        opened: list[Store] = []
        own_store = cli._store

        def store_of(settings: Settings) -> Store:
            opened.append(own_store(settings))
            return opened[-1]

        cli._store = store_of  # type: ignore[assignment]
        try:
            result = runner.invoke(app, list(args))
        finally:
            cli._store = own_store  # type: ignore[assignment]
            for store in opened:  # a process would close its connections at exit; PostgreSQL's warn if left open
                store.dispose()
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return run
