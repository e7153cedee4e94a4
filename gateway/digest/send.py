"""Send: hand rendered mail to the SMTP relay (RELAY_URL) with aiosmtplib.

A batch goes out over a few connections at once (`send_parallel`), each taking
its share in turn. Each message's outcome is reported as sent, temporary (4xx
or no connection: try again later) or permanent (5xx: a bounce), never raised,
so one bad address does not stop the others.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import aiosmtplib

T = TypeVar("T")


class RelayRefused(ValueError):
    """A RELAY_URL mailfeed will not send through; the message says why and what to give instead."""


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    security: str  # none | starttls | tls
    username: str = ""
    password: str = ""

    def __post_init__(self) -> None:
        # AUTH over plain SMTP puts the password on the wire in clear text (PLAIN and LOGIN are
        # base64); a relay offering it without TLS is no reason to do so. Loopback is no exception:
        # a local MTA takes mail from 127.0.0.1 without a password, and one that wants a password
        # can offer STARTTLS like any other.
        if self.security == "none" and (self.username or self.password):
            raise RelayRefused(
                f"MAILFEED_RELAY_URL gives a user and password with smtp://{self.host}:{self.port}, which would send"
                " them in clear text: use smtp+starttls://user:pass@host:587 or smtps://user:pass@host:465"
                " (or smtp://host:port without them, for a relay that needs none)"
            )

    def __repr__(self) -> str:  # never show the password in logs
        return f"Relay({self.security}://{self.host}:{self.port}, user={self.username or '-'})"


def relay_from_url(url: str) -> Relay:
    """smtp://host:25, smtp+starttls://user:pass@host:587, smtps://user:pass@host:465.

    Raises RelayRefused for credentials without TLS (smtp://user:pass@…).
    """
    parts = urlsplit(url)
    security = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "tls"}[parts.scheme]
    default_port = {"none": 25, "starttls": 587, "tls": 465}[security]
    return Relay(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or default_port,
        security=security,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | temporary | permanent
    code: int = 250
    detail: str = ""


@dataclass(frozen=True)
class Outgoing:
    message: bytes
    sender: str  # envelope MAIL FROM
    recipient: str


Checkpoint = Callable[[int, list[Outcome]], Awaitable[None]]
CONNECTIONS = 4  # relays limit connections per client (Postfix: 50); a few keep relay and sender both busy


async def send_parallel(
    relay: Relay,
    batch: list[Outgoing],
    *,
    connections: int = CONNECTIONS,
    timeout: float = 60,
    checkpoint: Checkpoint | None = None,
) -> list[Outcome]:
    """Send `batch` over up to `connections` connections at once, each a contiguous share of it.

    Outcomes come back in batch order, and `checkpoint(start, outcomes)` gets
    positions in the whole batch. If a checkpoint raises, every connection
    stops before its next message and the error propagates.
    """
    if not batch:
        return []
    n = max(1, min(connections, len(batch)))
    size = -(-len(batch) // n)
    shares = [(start, batch[start : start + size]) for start in range(0, len(batch), size)]

    def offset(start: int) -> Checkpoint | None:
        if checkpoint is None:
            return None
        outer = checkpoint

        async def shifted(at: int, outcomes: list[Outcome]) -> None:
            await outer(start + at, outcomes)

        return shifted

    clients: list[aiosmtplib.SMTP] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(send_batch(relay, share, timeout=timeout, checkpoint=offset(start), peers=clients))
                for start, share in shares
            ]
    except BaseExceptionGroup as failed:  # the connections stop for one cause (the ledger is away): name it
        raise failed.exceptions[0] from None
    return [outcome for task in tasks for outcome in task.result()]


async def send_batch(
    relay: Relay,
    batch: list[Outgoing],
    *,
    timeout: float = 60,
    checkpoint: Checkpoint | None = None,
    peers: list[aiosmtplib.SMTP] | None = None,
) -> list[Outcome]:
    """Send every message over one connection; an outcome per message, in order.

    `checkpoint(start, outcomes)` is awaited after each message, before the
    next one starts: a caller that records the outcome there never lets the
    connection run ahead of its record, so a crash can re-send at most the one
    message per connection that the relay took and the record did not yet hold.
    When a checkpoint fails, this connection and its `peers` (the other
    connections of one `send_parallel`) are closed at once: a connection waiting
    for a reply may not heed its cancellation until the SMTP timeout.
    """
    client = aiosmtplib.SMTP(
        hostname=relay.host,
        port=relay.port,
        use_tls=relay.security == "tls",
        start_tls=relay.security == "starttls",
        tls_context=_tls_context() if relay.security != "none" else None,
        timeout=timeout,
    )
    peers = [] if peers is None else peers
    peers.append(client)
    try:
        await client.connect()
        if relay.username:
            await client.login(relay.username, relay.password)
    except (aiosmtplib.SMTPException, OSError) as exc:
        unreachable = [Outcome("temporary", 0, f"relay unavailable: {exc}") for _ in batch]
        if checkpoint is not None:
            await checkpoint(0, unreachable)
        return unreachable
    outcomes: list[Outcome] = []
    finished = False
    try:
        for at, item in enumerate(batch):
            outcomes.append(await _send_one(client, item))
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # Cancelled (a peer's checkpoint failed) while aiosmtplib waited for a reply: it
                # reports the closed connection as an outcome, and the cancellation must still win.
                raise asyncio.CancelledError
            if checkpoint is not None:
                await checkpoint(at, outcomes[at:])
        finished = True
    finally:
        if not finished:  # a checkpoint failed or we were cancelled, maybe mid-DATA: a QUIT would wait for nothing
            for each in peers:
                each.close()
        else:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
    return outcomes


async def _send_one(client: aiosmtplib.SMTP, item: Outgoing) -> Outcome:
    try:
        refused, _ = await client.sendmail(item.sender, [item.recipient], item.message)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        first = exc.recipients[0]
        return _classify(first.code, first.message)
    except aiosmtplib.SMTPResponseException as exc:
        return _classify(exc.code, exc.message)
    except (aiosmtplib.SMTPException, OSError) as exc:
        return Outcome("temporary", 0, str(exc))
    if refused:
        code, text = next(iter(refused.values()))
        return _classify(code, text)
    return Outcome("sent")


def _classify(code: int, text: str) -> Outcome:
    return Outcome("permanent" if 500 <= code < 600 else "temporary", code, text)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying context for every connection: loading the system CA store costs tens of ms."""
    return ssl.create_default_context()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion from synchronous code, even where an event loop is already running.

    The scheduler and the CLI call this from plain threads; a caller that has a
    loop of its own (a test harness, an embedding app) gets a thread instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
