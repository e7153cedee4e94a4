"""A real SMTP sink (aiosmtpd on 127.0.0.1) that keeps what it receives, for outgoing mail.

Besides keeping mail it can refuse (`fail_next`, `refuse`), hold every DATA
reply after the first N messages (`hold_after`; a held message whose client goes
away was never accepted: no `250`, so the relay took no responsibility for it,
RFC 5321 §6.1), and call `before_next(message_id)` when a connection that got a
`250` for `message_id` starts its next transaction.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller

from tests.servers import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> Message:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    @property
    def message_id(self) -> str:
        return str(BytesHeaderParser().parsebytes(self.data)["Message-ID"])


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    fail_next: list[str] = field(default_factory=list)  # replies to give instead of 250, in order
    refuse: dict[str, str] = field(default_factory=dict)  # recipient → reply at RCPT
    hold_after: int | None = None  # accept this many, then hold every DATA reply until release()
    held: int = 0  # DATA replies being held now
    dropped: int = 0  # held messages whose client went away: not accepted
    before_next: Callable[[str], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)
    _last_accepted: dict[object, str] = field(default_factory=dict)  # connection → Message-ID of its last 250

    def release(self) -> None:
        self._released.set()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # type: ignore[no-untyped-def]
        previous = self._last_accepted.pop(session.peer, None)
        if previous is not None and self.before_next is not None:
            self.before_next(previous)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        if address.lower() in self.refuse:
            return self.refuse[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            hold = self.hold_after is not None and len(self.received) >= self.hold_after
            self.held += hold
        if hold and not await self._wait_for_release(server):
            return "421 4.3.0 gone"  # nobody reads this: the client went away
        got = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        with self.lock:
            self.received.append(got)
        self._last_accepted[session.peer] = got.message_id
        return "250 OK"

    async def _wait_for_release(self, server) -> bool:  # type: ignore[no-untyped-def]
        """Hold the reply; False when the client went away meanwhile (the message was not accepted)."""
        try:
            while not self._released.is_set():
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:  # aiosmtpd cancels the session when the connection is lost
            with self.lock:
                self.held -= 1
                self.dropped += 1
            raise
        with self.lock:
            self.held -= 1
            gone = server.transport is None or server.transport.is_closing()
            self.dropped += gone
        return not gone


@dataclass
class Sink:
    port: int
    handler: SinkHandler

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@contextmanager
def smtp_sink(port: int | None = None, handler: SinkHandler | None = None) -> Iterator[Sink]:
    handler = handler or SinkHandler()
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="sink")
    controller.start()
    try:
        yield Sink(port, handler)
    finally:
        controller.stop()
