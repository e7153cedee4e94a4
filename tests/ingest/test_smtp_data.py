"""mailfeed's DATA reader against aiosmtpd's own, on the same bytes over real sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import hypothesis
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import given
from hypothesis import strategies as st

from gateway.ingest.smtp import GatewayController
from tests.helpers import free_port

LIMIT = 200  # small, so that generated messages cross it


class Capture:
    """Keeps what DATA delivered, answers 250."""

    def __init__(self) -> None:
        self.got: list[bytes] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.got.append(envelope.original_content or b"")
        return "250 OK"


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, tuple[int, Capture]]]:
    """Stock aiosmtpd and mailfeed's SMTP class, both with the same size limit."""
    stock, ours = Capture(), Capture()
    started = [
        Controller(stock, hostname="127.0.0.1", port=free_port(), data_size_limit=LIMIT),
        GatewayController(ours, hostname="127.0.0.1", port=free_port(), max_bytes=LIMIT),  # type: ignore[arg-type]
    ]
    for c in started:
        c.start()
    try:
        yield {"stock": (started[0].port, stock), "ours": (started[1].port, ours)}
    finally:
        for c in started:
            c.stop()


def exchange(port: int, data: bytes) -> tuple[int, int]:
    """One message over a raw socket, `data` sent as is after DATA; the DATA reply's code and the next one's."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        f = sock.makefile("rb")

        def reply() -> int:
            while True:
                line = f.readline()
                assert line, "connection closed"
                if line[3:4] != b"-":
                    return int(line[:3])

        reply()  # greeting
        for command in (b"EHLO test", b"MAIL FROM:<a@example.com>", b"RCPT TO:<b@example.com>", b"DATA"):
            sock.sendall(command + b"\r\n")
            reply()
        sock.sendall(data)
        code = reply()
        sock.sendall(b"NOOP\r\n")  # the session goes on after the message, whatever happened to it
        return code, reply()


def same_outcome(servers: dict[str, tuple[int, Capture]], data: bytes) -> None:
    outcome = {}
    for name, (port, capture) in servers.items():
        capture.got.clear()
        code, after = exchange(port, data)
        outcome[name] = (code, after, capture.got[:])
    assert outcome["ours"] == outcome["stock"], data


LINE = st.binary(max_size=40).map(lambda b: b.replace(b"\r\n", b"").replace(b"\n.", b"\n:"))
TRICKY = st.lists(
    st.one_of(LINE, st.sampled_from([b".", b"..", b"...", b".x", b"a.", b"\r", b"\n.", b". ", b""])), max_size=12
)


@given(lines=TRICKY)
@hypothesis.settings(
    max_examples=300, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
def test_dot_stuffing_bare_lf_and_size_limit_read_as_aiosmtpd_reads_them(
    servers: dict[str, tuple[int, Capture]], lines: list[bytes]
) -> None:
    body = b"\r\n".join(lines)
    if body.startswith(b".\r\n") or body == b"." or b"\r\n.\r\n" in body + b"\r\n":
        return  # that would end the message early; the rest would be read as commands
    same_outcome(servers, body + b"\r\n.\r\n")


@pytest.mark.parametrize(
    "data",
    [
        b".\r\n",  # an empty message
        b"\r\n.\r\n",  # one empty line
        b"..\r\n.\r\n",  # a stuffed lone dot
        b"Subject: x\r\n\r\nend.\r\n.\r\n",  # a line that ends with a dot
        b"Subject: x\n\n.bare LF lines keep their dots\n.\r\n.\r\n",
        b"x" * LIMIT + b"\r\n.\r\n",  # just over the limit once CRLF counts
        b"x" * (LIMIT - 2) + b"\r\n.\r\n",  # exactly at it
        b"y" * (LIMIT * 5) + b".\r\n" + b"z\r\n.\r\n",  # far over, with a dot line ending inside
    ],
)
def test_edge_cases_read_as_aiosmtpd_reads_them(servers: dict[str, tuple[int, Capture]], data: bytes) -> None:
    same_outcome(servers, data)
