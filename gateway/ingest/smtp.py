"""Inbound SMTP: aiosmtpd in front of pipeline.deliver.

Recipients are checked at RCPT, senders at MAIL FROM, size during DATA. The
`250` is given only after the raw bytes are committed; concurrent sessions
share one writer thread that commits their messages together (raw_writer.py).
Any internal fault is a `451` so the sending MTA retries. The dialogue itself
(reply codes, EHLO, timeouts) is smtp_protocol.py's; feed lookups are smtp_feeds.py's.

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
import socket
from collections.abc import Callable
from functools import partial
from typing import Any

import uvloop
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from gateway import keys
from gateway.config import Settings
from gateway.ingest.raw_writer import RawWriter, storage_full
from gateway.ingest.smtp_feeds import FeedDirectory
from gateway.ingest.smtp_protocol import GatewaySMTP, Logged, peer
from gateway.limits import RateLimiter, limits_of
from gateway.logs import header_message_id
from gateway.pipeline import Rejected, precheck
from gateway.store import writes
from gateway.store.db import Store

log = logging.getLogger(__name__)  # smtp_protocol.py and raw_writer.py log here too


def _from_smtp(record: logging.LogRecord) -> bool:
    """Every line of the SMTP side carries `source` "smtp", as processing's lines about the same message do."""
    record.__dict__.setdefault("source", "smtp")
    return True


log.addFilter(_from_smtp)

REPLY_OK = "250 2.0.0 OK: queued as {ids}"
REPLY_RCPT_OK = "250 2.1.5 OK"
REPLY_NO_SUCH_FEED = "550 5.1.1 <{address}>: no feed here has this address"
REPLY_FEEDS_GONE = "550 5.1.1 No feed here has the addresses this message was for any more"
REPLY_SENDER_REFUSED = "550 5.7.1 <{sender}> may not post to <{address}>: not an allowed sender of this feed"
REPLY_FORGED_TAG = "550 5.7.1 <{address}>: this reply address is not valid (altered or forged)"
REPLY_TRY_LATER = "451 4.3.0 Temporary failure in mailfeed, please try again later"
REPLY_STORAGE_FULL = "452 4.3.1 Insufficient system storage, please try again later"
REPLY_RATE = "451 4.7.1 Too many messages from {who} (at most {n} a minute), please try again later"
REPLY_TOO_MANY_RCPT = "452 4.5.3 Too many recipients (at most {n} per message)"
REPLY_BAD_SENDER = "553 5.1.7 The sender address has bytes no address may hold (not UTF-8, or a control character)"
REPLY_BAD_RECIPIENT = (
    "553 5.1.3 The recipient address has bytes no address may hold (not UTF-8, or a control character)"
)
REPLY_NEEDS_SMTPUTF8 = "553 5.6.7 Non-ASCII addresses need the SMTPUTF8 parameter on MAIL FROM (RFC 6531)"
SESSION_TIMEOUT = 300  # seconds a client may stay silent (aiosmtpd's default); DATA counts each read

INLINE_CHECK_BYTES = 256 * 1024


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
        if not _storable(address):  # not named: it may hold control characters
            return _refused(session, "MAIL FROM", REPLY_BAD_SENDER)
        if not (address.isascii() or envelope.smtp_utf8):  # RFC 6531 3.4
            return _refused(session, f"MAIL FROM <{address}>", REPLY_NEEDS_SMTPUTF8)
        client = peer(session)
        if not self.per_client.allow(client):
            reply = REPLY_RATE.format(who=f"client {client}", n=self.settings.rate_per_client)
            return _refused(session, f"MAIL FROM <{address}>", reply)
        if _sender(address) and not self.per_sender.allow(address.lower(), take=False):  # taken once accepted
            reply = REPLY_RATE.format(who=f"<{address}>", n=self.settings.rate_per_sender)
            return _refused(session, f"MAIL FROM <{address}>", reply)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not _storable(address):  # not named: it may hold control characters
            return _refused(session, "RCPT", REPLY_BAD_RECIPIENT)
        if not (address.isascii() or envelope.smtp_utf8):  # RFC 6531 3.4
            return _refused(session, f"RCPT <{address}>", REPLY_NEEDS_SMTPUTF8)
        if len(envelope.rcpt_tos) >= self.settings.max_recipients:
            return _refused(session, f"RCPT <{address}>", REPLY_TOO_MANY_RCPT.format(n=self.settings.max_recipients))
        # answered from the directory's cache; a thread only when it must read the database
        feed_id = (
            self.feeds.lookup(address) if self.feeds.fresh() else await asyncio.to_thread(self.feeds.lookup, address)
        )
        if feed_id is None:
            return await self._rcpt_postmaster(session, envelope, address, options)
        if keys.looks_signed(keys.split_sub_address(address)[1] or "") and await asyncio.to_thread(
            self.feeds.forged, address
        ):
            return _refused(session, f"RCPT <{address}>", REPLY_FORGED_TAG.format(address=address), feed_id)
        policy = self.feeds.policy(feed_id)
        sender = _sender(envelope.mail_from)
        if sender and not policy.may_post(sender) and policy.unknown == "refuse":
            reply = REPLY_SENDER_REFUSED.format(sender=sender, address=address)
            return _refused(session, f"RCPT <{address}>", reply, feed_id)
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
            return _refused(session, f"RCPT <{address}>", REPLY_NO_SUCH_FEED.format(address=address))
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
                "%s refused from %s: %s",
                _named(message_id),
                peer(session),
                exc.reply,
                extra=_about(session, message_id=message_id),
            )
            return Logged(exc.reply)
        items = self._raw_items(data, session, envelope)
        if not items:  # every feed it was for went away after RCPT: say so, rather than 250 for nothing stored
            return _refused(session, "DATA", REPLY_FEEDS_GONE)
        saving = asyncio.ensure_future(self.writer.save(items))
        try:
            ids = await asyncio.shield(saving)
        except asyncio.CancelledError:  # the client hung up after the final dot: the save goes on, and is logged
            saving.add_done_callback(partial(self._saved_after_hang_up, data, session, envelope, items))
            raise
        except Exception as exc:
            if storage_full(exc):
                message_id = header_message_id(data)
                log.error(
                    "%s refused from %s: %s (storage full: %s)",
                    _named(message_id),
                    peer(session),
                    REPLY_STORAGE_FULL,
                    exc,
                    extra=_about(session, message_id=message_id),
                )
                return Logged(REPLY_STORAGE_FULL)
            raise
        self._accepted(data, session, envelope, items, ids)
        return REPLY_OK.format(ids=",".join(map(str, ids)))

    def _accepted(
        self,
        data: bytes,
        session: Session,
        envelope: Envelope,
        items: list[writes.NewRaw],
        ids: list[int],
        end: str = "",
    ) -> None:
        """A message is committed: it counts against its sender's rate, and each raw row is logged."""
        if sender := _sender(envelope.mail_from):
            self.per_sender.allow(sender.lower())  # one message more from this sender this minute
        message_id = header_message_id(data)
        for item, raw_id in zip(items, ids, strict=True):
            log.info(
                "%s accepted from %s as raw %s of feed %s (%s bytes)%s",
                _named(message_id),
                peer(session),
                raw_id,
                item.feed_id,
                len(data),
                end,
                extra=_about(session, item.feed_id, message_id, raw_id),
            )

    def _saved_after_hang_up(
        self,
        data: bytes,
        session: Session,
        envelope: Envelope,
        items: list[writes.NewRaw],
        saving: asyncio.Future[list[int]],
    ) -> None:
        """The save of a session that ended before its reply: committed all the same (a retry is a
        duplicate), so it is accepted and logged as any; a failure was logged by the writer."""
        if not saving.cancelled() and saving.exception() is None:
            self._accepted(data, session, envelope, items, saving.result(), "; the session ended before the reply")

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


def _named(message_id: str | None) -> str:
    """A message as log lines name it: `<id>`, or `-` when it has no Message-ID."""
    return f"<{message_id}>" if message_id else "-"


def _refused(session: Session, what: str, reply: str, feed: int | None = None) -> Logged:
    """Log a refusal at MAIL FROM or RCPT, naming the client and the reply it gets; `push` logs it no more."""
    log.info("refused %s from %s: %s", what, peer(session), reply, extra=_about(session, feed))
    return Logged(reply)


def _about(
    session: Session, feed: int | None = None, message_id: str | None = None, raw_id: int | None = None
) -> dict[str, object]:
    """The structured fields of a log line about this session's message, those known (see gateway/logs.py)."""
    fields = {"peer": peer(session), "feed": feed, "message_id": message_id, "raw_id": raw_id}
    return {k: v for k, v in fields.items() if v is not None}


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
    _try_bind(settings.smtp_host, settings.smtp_port)
    controller.start()
    return controller, writer


def _try_bind(host: str, port: int) -> None:
    """Bind every address of HOST:PORT as the server will, and let go; OSError when one is taken.

    aiosmtpd waits out its ready_timeout (10 s) before it says so; a taken port is the
    first thing to go wrong on a new machine, and is named at once this way.
    """
    for family, kind, proto, _, address in socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    ):
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's create_server
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind(address)
