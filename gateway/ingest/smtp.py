"""Inbound SMTP: aiosmtpd in front of pipeline.deliver.

Recipients are checked at RCPT, senders at MAIL FROM, size during DATA. The
`250` is given only after the raw bytes are committed; concurrent sessions
share one writer thread that commits their messages together (raw_writer.py).
Any internal fault is a `451` so the sending MTA retries.

Mail to postmaster (bare, or at the domain of a feed) is accepted, as RFC 5321
4.5.1 requires, though no feed has that address: there is no mailbox to put it
in, so its raw bytes are stored on the oldest feed at that domain (the oldest
of all, bare) and the commit step keeps them in quarantine, "addressed to
postmaster", for the admin (`mailfeed quarantine list`, /admin/quarantine); it
is never posted. A message to a feed and to postmaster at once is posted to
that feed as ever, and kept for the admin too unless the keeping feed is that
same one (one row per feed and bytes). Rate and size limits apply as to any mail.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from functools import partial
from typing import Any

import sqlalchemy as sa
import uvloop
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

from gateway import keys
from gateway.commit import to_postmaster
from gateway.config import Settings
from gateway.ingest.raw_writer import RawWriter, storage_full
from gateway.ingest.smtp_data import read_data
from gateway.limits import RateLimiter, limits_of
from gateway.logs import header_message_id
from gateway.pipeline import Rejected, precheck
from gateway.policy import Policy
from gateway.store import digest_writes, writes
from gateway.store.db import Store
from gateway.store.models import Feed
from gateway.store.policies import feed_policies

log = logging.getLogger(__name__)

REPLY_OK = "250 2.0.0 OK: queued as {ids}"
REPLY_RCPT_OK = "250 2.1.5 OK"
REPLY_NO_SUCH_FEED = "550 5.1.1 <{address}>: no feed here has this address"
REPLY_SENDER_REFUSED = "550 5.7.1 <{sender}> may not post to <{address}>: not an allowed sender of this feed"
REPLY_FORGED_TAG = "550 5.7.1 <{address}>: this reply address is not valid (altered or forged)"
REPLY_TOO_BIG = "552 5.3.4 Message too big: at most {limit} bytes are accepted"
REPLY_TRY_LATER = "451 4.3.0 Temporary failure in mailfeed, please try again later"
REPLY_STORAGE_FULL = "452 4.3.1 Insufficient system storage, please try again later"
REPLY_RATE = "451 4.7.1 Too many messages from {who} (at most {n} a minute), please try again later"
REPLY_TOO_MANY_RCPT = "452 4.5.3 Too many recipients (at most {n} per message)"
REPLY_BAD_SENDER = "553 5.1.7 The sender address has bytes no address may hold (not UTF-8, or a control character)"
REPLY_BAD_RECIPIENT = (
    "553 5.1.3 The recipient address has bytes no address may hold (not UTF-8, or a control character)"
)
REPLY_NEEDS_SMTPUTF8 = "553 5.6.7 Non-ASCII addresses need the SMTPUTF8 parameter on MAIL FROM (RFC 6531)"
REPLY_BODY_NOT_OFFERED = "555 5.5.4 BODY takes 7BIT or 8BITMIME here (BINARYMIME needs CHUNKING, which is not offered)"
REPLY_TIMEOUT = "421 4.4.2 {host} Error: timeout exceeded"
SESSION_TIMEOUT = 300  # seconds a client may stay silent (aiosmtpd's default); DATA counts each read


FEED_CACHE_SECONDS = 2.0
INLINE_CHECK_BYTES = 256 * 1024


class FeedDirectory:
    """Feed addresses → ids, re-read at most every couple of seconds (`feed add` shows up live).

    A feed address with a tag (team+r-12-…@example.com, see gateway/keys.py)
    is that feed's; a tag that looks like ours but does not verify is forged.
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.secret_key = settings.secret_key
        self._at = 0.0
        self._map: dict[str, int] = {}
        self._policies: dict[int, Policy] = {}
        self._key = ""
        self._lock = threading.Lock()

    def lookup(self, address: str) -> int | None:
        base, _ = keys.split_sub_address(address)
        with self._lock:
            self._refresh()
            return self._map.get(base)

    def postmaster_feed(self, address: str) -> int | None:
        """The feed that keeps mail to this postmaster: the oldest at its domain, or of all for a bare
        `postmaster`; None when the address is no postmaster of ours."""
        if not to_postmaster(address):
            return None
        domain = address.lower().rpartition("@")[2] if "@" in address else None
        with self._lock:
            self._refresh()
            ids = [i for a, i in self._map.items() if domain is None or a.rpartition("@")[2] == domain]
        return min(ids, default=None)

    def fresh(self) -> bool:
        return time.monotonic() - self._at <= FEED_CACHE_SECONDS

    def policy(self, feed_id: int) -> Policy:
        with self._lock:
            self._refresh()
            return self._policies.get(feed_id, Policy(self.settings.allowed, self.settings.unknown_senders))

    def _refresh(self) -> None:
        if time.monotonic() - self._at > FEED_CACHE_SECONDS:
            with self.store.read() as session:
                self._map = {a: i for a, i in session.execute(sa.select(Feed.address, Feed.id))}
                self._policies = feed_policies(session, self.settings)
            self._at = time.monotonic()

    def forged(self, address: str) -> bool:
        """True when the address carries a token of ours that does not verify."""
        _, tag = keys.split_sub_address(address)
        if tag is None or not keys.looks_signed(tag):
            return False
        if not self._key:
            with self.store.write() as session, session.begin():
                self._key = digest_writes.signing_key(session, self.secret_key)
        return keys.parse(self._key, tag) is None


class Handler:
    """aiosmtpd hooks: RCPT checks the feed, MAIL the sender, DATA commits the raw bytes."""

    def __init__(self, settings: Settings, feeds: FeedDirectory, writer: RawWriter) -> None:
        self.settings = settings
        self.feeds = feeds
        self.writer = writer
        self.limits = limits_of(settings)
        self.per_sender = RateLimiter(settings.rate_per_sender)
        self.per_client = RateLimiter(settings.rate_per_client)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not _storable(address):
            log.info("refused MAIL FROM from %s: address not storable", _peer(session), extra={"peer": _peer(session)})
            return REPLY_BAD_SENDER
        if not (address.isascii() or envelope.smtp_utf8):  # RFC 6531 3.4
            log.info("refused MAIL FROM from %s: non-ASCII without SMTPUTF8", _peer(session), extra=_about(session))
            return REPLY_NEEDS_SMTPUTF8
        client = str(session.peer[0]) if isinstance(session.peer, tuple) else str(session.peer)
        if not self.per_client.allow(client):
            log.info("refused MAIL FROM <%s> from %s: client over its rate", address, client, extra={"peer": client})
            return REPLY_RATE.format(who=f"client {client}", n=self.settings.rate_per_client)
        if _sender(address) and not self.per_sender.allow(address.lower(), take=False):  # taken once accepted
            log.info("refused MAIL FROM <%s> from %s: sender over its rate", address, client, extra={"peer": client})
            return REPLY_RATE.format(who=f"<{address}>", n=self.settings.rate_per_sender)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not _storable(address):
            log.info("refused RCPT from %s: address not storable", _peer(session), extra=_about(session))
            return REPLY_BAD_RECIPIENT
        if not (address.isascii() or envelope.smtp_utf8):  # RFC 6531 3.4
            log.info("refused RCPT from %s: non-ASCII without SMTPUTF8", _peer(session), extra=_about(session))
            return REPLY_NEEDS_SMTPUTF8
        if len(envelope.rcpt_tos) >= self.settings.max_recipients:
            log.info("refused RCPT <%s> from %s: too many recipients", address, _peer(session), extra=_about(session))
            return REPLY_TOO_MANY_RCPT.format(n=self.settings.max_recipients)
        # answered from the directory's cache; a thread only when it must read the database
        feed_id = (
            self.feeds.lookup(address) if self.feeds.fresh() else await asyncio.to_thread(self.feeds.lookup, address)
        )
        if feed_id is None:
            return await self._rcpt_postmaster(session, envelope, address, options)
        if keys.looks_signed(keys.split_sub_address(address)[1] or "") and await asyncio.to_thread(
            self.feeds.forged, address
        ):
            log.info("refused RCPT <%s> from %s: forged tag", address, _peer(session), extra=_about(session, feed_id))
            return REPLY_FORGED_TAG.format(address=address)
        policy = self.feeds.policy(feed_id)
        sender = _sender(envelope.mail_from)
        if sender and not policy.may_post(sender) and policy.unknown == "refuse":
            log.info(
                "refused RCPT <%s> from %s: sender <%s> not allowed",
                address,
                _peer(session),
                sender,
                extra=_about(session, feed_id),
            )
            return REPLY_SENDER_REFUSED.format(sender=sender, address=address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return REPLY_RCPT_OK

    async def _rcpt_postmaster(self, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        """RCPT to an address no feed has: taken when it is postmaster (RFC 5321 4.5.1: a server MUST
        accept it), from any sender, since it is the admin's and no feed's (see the module docstring)."""
        keeper = (
            self.feeds.postmaster_feed(address)
            if self.feeds.fresh()
            else await asyncio.to_thread(self.feeds.postmaster_feed, address)
        )
        if keeper is None:
            log.info("refused RCPT <%s> from %s: no such feed", address, _peer(session), extra=_about(session))
            return REPLY_NO_SUCH_FEED.format(address=address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return REPLY_RCPT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        check = partial(precheck, data, max_bytes=self.settings.max_message_bytes, limits=self.limits)
        try:  # the structure scan reads every byte: a big message is scanned off the event loop
            await asyncio.to_thread(check) if len(data) > INLINE_CHECK_BYTES else check()
        except Rejected as exc:
            message_id = header_message_id(data)
            log.info(
                "<%s> refused from %s: %s",
                message_id or "-",
                _peer(session),
                exc.reply,
                extra=_about(session, message_id=message_id),
            )
            return exc.reply
        items = self._raw_items(data, session, envelope)
        try:
            ids = await self.writer.save(items)
        except Exception as exc:
            if storage_full(exc):
                message_id = header_message_id(data)
                log.error(
                    "<%s> cannot be stored: storage full (%s)",
                    message_id or "-",
                    exc,
                    extra=_about(session, message_id=message_id),
                )
                return REPLY_STORAGE_FULL
            raise
        if sender := _sender(envelope.mail_from):
            self.per_sender.allow(sender.lower())  # one message more from this sender this minute
        message_id = header_message_id(data)
        for item, raw_id in zip(items, ids, strict=True):
            log.info(
                "<%s> accepted from %s as raw %s of feed %s (%s bytes)",
                message_id or "-",
                _peer(session),
                raw_id,
                item.feed_id,
                len(data),
                extra=_about(session, item.feed_id, message_id, raw_id),
            )
        return REPLY_OK.format(ids=",".join(map(str, ids)))

    def _raw_items(self, data: bytes, session: Session, envelope: Envelope) -> list[writes.NewRaw]:
        """One raw row per feed addressed; for mail to postmaster, one more on the feed that keeps it,
        naming only the postmaster addresses (what the commit step quarantines), unless that feed was
        addressed too: the same bytes make one row per feed, and that one is posted."""
        found = {a: self.feeds.lookup(a) for a in envelope.rcpt_tos}
        feed_ids = sorted({f for f in found.values() if f is not None})
        postmasters = [a for a, f in found.items() if f is None]
        keepers = [k for a in postmasters if (k := self.feeds.postmaster_feed(a)) is not None]
        client = str(session.peer[0]) if isinstance(session.peer, tuple) else ""  # kept for SPF
        sender, helo = _sender(envelope.mail_from), _as_text(session.host_name or "")
        to_all = ",".join(envelope.rcpt_tos)
        items = [writes.NewRaw(f, data, "smtp", sender, to_all, client, helo) for f in feed_ids]
        if keepers and keepers[0] not in feed_ids:
            items.append(writes.NewRaw(keepers[0], data, "smtp", sender, ",".join(postmasters), client, helo))
        return items

    async def handle_exception(self, error: Exception) -> str:
        log.error("SMTP session failed: %r", error)
        return REPLY_TRY_LATER


def _sender(mail_from: str | None) -> str:
    """The envelope sender, "" for the null sender of bounces, which aiosmtpd keeps as "<>" (its
    state needs a true value): stored so, bounces were no bounces and were posted."""
    return "" if not mail_from or mail_from == "<>" else mail_from


_UNSTORABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def _storable(address: str) -> bool:
    """No control character and no byte that is not UTF-8 (aiosmtpd keeps those as surrogates): the
    database cannot store them, and the message was refused only after its data, with a 451 that
    made the sender retry for days."""
    return not _UNSTORABLE.search(address)


def _as_text(value: str) -> str:
    """A client-given name (HELO) as storable text: bytes that are not UTF-8 replaced, controls (a NUL,
    which PostgreSQL cannot store) dropped."""
    if not _UNSTORABLE.search(value):
        return value
    return _CONTROL.sub("", value.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _peer(session: Session) -> str:
    return str(session.peer[0]) if isinstance(session.peer, tuple) else str(session.peer)


def _about(
    session: Session, feed: int | None = None, message_id: str | None = None, raw_id: int | None = None
) -> dict[str, object]:
    """The structured fields of a log line about this session's message, those known (see gateway/logs.py)."""
    fields = {"peer": _peer(session), "feed": feed, "message_id": message_id, "raw_id": raw_id}
    return {k: v for k, v in fields.items() if v is not None}


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

    def __init__(self, handler: Handler, *, max_bytes: int, **kwargs: Any) -> None:
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
        await super().push("\r\n".join(lines))

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str) -> None:
        await super().push("\r\n".join(await self._held_back(super().smtp_HELO(hostname))))

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
            log.info("refused a message from %s: over %s bytes", _peer(self.session), self._max_bytes)
            await self.push(REPLY_TOO_BIG.format(limit=self._max_bytes))
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
        await super().push(status)

    def _ours(self, status: str) -> str:
        """aiosmtpd's reply as mailfeed gives it: ours where it has one, else with an RFC 3463 code."""
        # A line longer than the line limit is longer than the size limit too.
        if status.startswith(("552 Error", "500 Line too long")):
            log.info("refused from %s: %s (over %s bytes)", _peer(self.session), status, self._max_bytes)
            return REPLY_TOO_BIG.format(limit=self._max_bytes)
        status = _THEIRS.get(status, status)
        if status.startswith("220") or not _NEEDS_CODE.match(status) or _HAS_CODE.match(status):
            return status
        return f"{status[:3]} {_CODES.get(status[:3], status[0] + '.0.0')} {status[4:]}".rstrip()


class GatewayController(Controller):
    def __init__(self, handler: Handler, *, max_bytes: int, **kwargs: Any) -> None:
        self._max_bytes = max_bytes
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        return GatewaySMTP(self.handler, max_bytes=self._max_bytes, **self.SMTP_kwargs)


def start_smtp(settings: Settings, store: Store, on_commit: Callable[[], None]) -> tuple[GatewayController, RawWriter]:
    """Start the SMTP server on SMTP_HOST:SMTP_PORT in its own thread; return it and its writer."""
    writer = RawWriter(store, on_commit)
    handler = Handler(settings, FeedDirectory(store, settings), writer)
    # aiosmtpd logs every command at INFO; one line per command is noise, and
    # writing it cost a tenth of the event loop's time. Refusals and faults stay.
    logging.getLogger("mail.log").setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    controller = GatewayController(
        handler,
        loop=uvloop.new_event_loop(),  # libuv's transports: about half the cost per SMTP command
        max_bytes=settings.max_message_bytes,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        server_hostname="mailfeed",
        ident="mailfeed",
        enable_SMTPUTF8=True,
        decode_data=False,
        ready_timeout=10,
        timeout=SESSION_TIMEOUT,
    )
    controller.start()
    return controller, writer
