"""A real SMTP sink (aiosmtpd on 127.0.0.1) that keeps what it receives, for outgoing mail."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message

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


@dataclass
class SinkHandler:
    received: list[Received] = field(default_factory=list)
    fail_next: list[str] = field(default_factory=list)  # replies to give instead of 250, in order
    refuse: dict[str, str] = field(default_factory=dict)  # recipient → reply at RCPT
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        if address.lower() in self.refuse:
            return self.refuse[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


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
def smtp_sink(port: int | None = None) -> Iterator[Sink]:
    handler = SinkHandler()
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="sink")
    controller.start()
    try:
        yield Sink(port, handler)
    finally:
        controller.stop()
