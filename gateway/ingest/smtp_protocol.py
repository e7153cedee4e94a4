"""The SMTP dialogue as mailfeed speaks it: aiosmtpd's protocol with our replies and extensions.

RFC 3463 codes on every reply, EHLO's PIPELINING and ENHANCEDSTATUSCODES, a
421 before an idle client is dropped, RFC 5321 parameter keywords, DATA read
in large reads (smtp_data.py) and a fast path for plain addresses. What a
command means for a feed (RCPT, MAIL, DATA's commit) is the handler's, in smtp.py.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine, Sequence
from typing import Any

from aiosmtpd.smtp import SMTP, Session, syntax

from gateway.ingest.smtp_data import read_data

log = logging.getLogger("gateway.ingest.smtp")  # its refusals are the SMTP side's, logged as one

REPLY_TOO_BIG = "552 5.3.4 Message too big: at most {limit} bytes are accepted"
REPLY_BODY_NOT_OFFERED = "555 5.5.4 BODY takes 7BIT or 8BITMIME here (BINARYMIME needs CHUNKING, which is not offered)"
REPLY_TIMEOUT = "421 4.4.2 {host} Error: timeout exceeded"


class Logged(str):
    """A refusal whose log line is written already, by the one who knew more (the handler: the address,
    the feed): `push` does not log it again. Every other 4xx or 5xx reply `push` logs, once."""


def peer(session: Session) -> str:
    """The client's address, as log lines name it."""
    return str(session.peer[0]) if isinstance(session.peer, tuple) else str(session.peer)


# `<local@domain>` in plain ASCII dot-atoms, then SMTP parameters: what nearly every client sends.
_PLAIN_PATH = re.compile(
    r"<([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>"
    r'(?:[ \t]+([^()\\"]*))?'
)


# A reply that needs an RFC 3463 code (RFC 2034: every 2xx, 4xx and 5xx but the greeting and HELO's and
# EHLO's), and one that has it; aiosmtpd's own replies get the code their basic one means.
_NEEDS_CODE = re.compile(r"[245]\d\d(?: |$)")
_HAS_CODE = re.compile(r"[245]\d\d [245]\.\d{1,3}\.\d{1,3}(?: |$)")
_CODES = {"500": "5.5.2", "501": "5.5.4", "502": "5.5.1", "503": "5.5.1", "504": "5.5.4", "555": "5.5.4"}
# aiosmtpd answers BODY=BINARYMIME (or any BODY but 7BIT and 8BITMIME) with a 501 syntax error; RFC 5321
# 4.1.1.11 and RFC 3030 say 555, as aiosmtpd answers every other parameter it does not know.
_THEIRS = {"501 Error: BODY can only be one of 7BIT, 8BITMIME": REPLY_BODY_NOT_OFFERED}
_ESMTP_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")  # RFC 5321 4.1.2


class GatewaySMTP(SMTP):
    """aiosmtpd's SMTP, lenient on long lines and bare LF, with RFC 3463 codes on every reply.

    EHLO offers PIPELINING too, which aiosmtpd honours without saying so (it reads one
    command line at a time and keeps the rest buffered, as `read_data` does after DATA),
    and ENHANCEDSTATUSCODES, which `push` makes true.
    """

    def __init__(self, handler: Any, *, max_bytes: int, **kwargs: Any) -> None:
        # aiosmtpd splits DATA on CRLF only: a sender that uses bare LF sends
        # one huge "line", and unwrapped HTML has lines past 1000 bytes. Both
        # are real mail, so the only line limit is the message size.
        self.line_length_limit = max_bytes + 1024
        self._max_bytes = max_bytes
        self._reading_data = False
        self._held: list[str] | None = None  # replies to HELO or EHLO, kept back by `push`
        super().__init__(handler, data_size_limit=max_bytes, **kwargs)

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        """aiosmtpd's EHLO, offering the two extensions it leaves out."""
        lines = await self._held_back(super().smtp_EHLO(hostname))
        if len(lines) > 1:  # the 250 list (a refusal is one line)
            lines[-1:-1] = ["250-PIPELINING", "250-ENHANCEDSTATUSCODES"]
        else:
            self._log_refusal("".join(lines))
        await super().push("\r\n".join(lines))

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str) -> None:
        lines = await self._held_back(super().smtp_HELO(hostname))
        self._log_refusal("".join(lines))
        await super().push("\r\n".join(lines))

    async def _held_back(self, answer: Coroutine[Any, Any, None]) -> list[str]:
        """The replies of aiosmtpd's HELO or EHLO, as they are: RFC 2034 leaves them without codes."""
        self._held = []
        try:
            await answer
            return self._held
        finally:
            self._held = None

    def _getparams(self, params: Sequence[str]) -> dict[str, str | bool] | None:
        """aiosmtpd's, with RFC 5321's keywords, which may hold a hyphen: `X-FOO=1` is a parameter
        we do not know (555), not a syntax error (501)."""
        result: dict[str, str | bool] = {}
        for param in params:
            keyword, eq, value = param.partition("=")
            if not _ESMTP_KEYWORD.fullmatch(keyword) or (eq and not value):
                return None
            result[keyword] = value if eq else True
        return result

    def _timeout_cb(self) -> None:
        """Say why before hanging up on a silent client, as Postfix does, rather than closing mutely."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(REPLY_TIMEOUT.format(host=self.hostname).encode() + b"\r\n")
        super()._timeout_cb()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's address parser, with a fast path for a plain `<local@domain>`.

        aiosmtpd runs the RFC 5322 header parser on every MAIL and RCPT (and
        defines a class each call): a tenth of the event loop's time under
        load. A plain path gives the same (address, parameters) as that parser
        (tests/ingest/test_smtp.py compares them); anything else still goes to
        it, and input that makes it raise (`MAIL FROM:<` an IndexError, some
        others an AttributeError) is a malformed address (553), not an
        internal fault (451).
        """
        m = _PLAIN_PATH.fullmatch(arg.lstrip())
        if m is None or (self.local_part_limit and m[1].index("@") > self.local_part_limit):
            try:
                return super()._getaddr(arg)
            except Exception:  # the stdlib header parser's own failures on odd input
                return None, None
        return m[1], m[2] or ""

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA with the message read by `read_data` (a few reads, not one per line)."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            self._reading_data = True
            content = await read_data(self._reader, self.data_size_limit)
        except asyncio.CancelledError:  # the connection went away during DATA (as aiosmtpd does)
            self._writer.close()
            raise
        finally:
            self._reading_data = False
        if content is None:
            reply = REPLY_TOO_BIG.format(limit=self._max_bytes)
            log.info(
                "refused a message from %s: %s (over %s bytes)",
                peer(self.session),
                reply,
                self._max_bytes,
                extra={"peer": peer(self.session)},
            )
            await self.push(Logged(reply))
            self._set_post_data_state()
            return
        self.envelope.content = self.envelope.original_content = content
        try:
            status = await self._call_handler_hook("DATA")
        finally:  # a fault's 451 ends the transaction too: the next MAIL was "nested", the old envelope kept
            self._set_post_data_state()
        await self.push(status)

    def data_received(self, data: bytes) -> None:
        """Bytes of a message being sent restart the idle timer: a slow sender is timed per read
        (RFC 5321 4.5.3.2.5), not cut off mid-message after the session's whole timeout, which
        aiosmtpd counts from the DATA command."""
        if self._reading_data:
            self._reset_timeout()
        super().data_received(data)

    async def push(self, status: Any) -> None:
        if isinstance(status, str) and self._held is not None:
            self._held.append(status)
            return
        if isinstance(status, str):
            status = self._ours(status)
            self._log_refusal(status)
        await super().push(status)

    def _log_refusal(self, status: str) -> None:
        """Log a 4xx or 5xx reply at INFO, naming the client and the reply as it is sent, unless logged already."""
        if status.startswith(("4", "5")) and not isinstance(status, Logged):
            log.info("refused from %s: %s", peer(self.session), status, extra={"peer": peer(self.session)})

    def _ours(self, status: str) -> str:
        """aiosmtpd's reply as mailfeed gives it: ours where it has one, else with an RFC 3463 code."""
        # A line longer than the line limit is longer than the size limit too.
        if status.startswith(("552 Error", "500 Line too long")):  # SIZE= at MAIL FROM, or a line
            reply = REPLY_TOO_BIG.format(limit=self._max_bytes)
            log.info(
                "refused from %s: %s (over %s bytes)",
                peer(self.session),
                reply,
                self._max_bytes,
                extra={"peer": peer(self.session)},
            )
            return Logged(reply)
        status = _THEIRS.get(status, status)
        if status.startswith("220") or not _NEEDS_CODE.match(status) or _HAS_CODE.match(status):
            return status
        return f"{status[:3]} {_CODES.get(status[:3], status[0] + '.0.0')} {status[4:]}".rstrip()
