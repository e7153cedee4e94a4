"""SMTP protocol duties a probe found missed, over raw sockets and smtplib against the real server."""

from __future__ import annotations

import os
import re
import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.pipeline import requeue
from gateway.store import queries
from gateway.store.db import Store
from gateway.store.models import RawMessage
from gateway.web.app import create_app
from tests.helpers import add_feed, make_mail, smtp_server, wait_for


class Talk:
    """One SMTP session over a raw socket: what smtplib would not send, and every reply line as it came."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")

    def send(self, *lines: str | bytes) -> None:
        """All at once, as a pipelining client sends a group of commands."""
        self.sock.sendall(b"".join((x.encode() if isinstance(x, str) else x) + b"\r\n" for x in lines))

    def reply(self) -> list[str]:
        lines = [self.file.readline().decode()]
        while lines[-1][3:4] == "-":
            lines.append(self.file.readline().decode())
        return [line.rstrip("\r\n") for line in lines]

    def one(self, line: str | bytes) -> str:
        """The reply's last line (EHLO's has several)."""
        self.send(line)
        return self.reply()[-1]

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@contextmanager
def talk(port: int) -> Iterator[Talk]:
    t = Talk(port)
    try:
        t.reply()  # greeting
        yield t
    finally:
        t.close()


def crlf(mail: bytes) -> bytes:
    return mail.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_mail_to_postmaster_is_accepted_and_kept_for_the_admin_never_posted(settings: Settings, store: Store) -> None:
    """RFC 5321 4.5.1: a server MUST accept mail to postmaster; it was refused as no feed's address."""
    team, ops = add_feed(store), add_feed(store, slug="ops", address="ops@example.org")
    settings = settings.model_copy(update={"max_message_bytes": 50_000, "allowed_senders": "example.com"})
    with smtp_server(settings, store) as server:
        with talk(server.port) as t:
            t.one("EHLO client")
            assert t.one("MAIL FROM:<stranger@elsewhere.example>")[:9] == "250 2.1.0"
            assert t.one("RCPT TO:<team@example.com>")[:9] == "550 5.7.1"  # no allowed sender of a feed
            assert t.one("RCPT TO:<Postmaster>")[:9] == "250 2.1.5"  # yet postmaster's, in any case
            assert t.one("RCPT TO:<postmaster@Example.ORG>")[:9] == "250 2.1.5"
            assert t.one("RCPT TO:<postmaster@elsewhere.example>")[:9] == "550 5.1.1"  # no domain of ours
            assert t.one("RSET")[:3] == "250"
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
            client.sendmail("stranger@elsewhere.example", ["postmaster"], make_mail(message_id="bare@x"))
            client.sendmail("ann@example.com", ["postmaster@example.org"], make_mail(message_id="pm@x"))
            both = ["team@example.com", "postmaster@example.org"]
            client.sendmail("ann@example.com", both, make_mail(message_id="plan@example.com"))
            with pytest.raises(smtplib.SMTPSenderRefused) as big:  # limits apply as to any mail
                client.sendmail("ann@example.com", ["postmaster"], make_mail(message_id="big@x", body="x" * 60_000))
            assert (big.value.smtp_code, big.value.smtp_error[:5]) == (552, b"5.3.4")
        # kept on the oldest feed (of the domain), and for a feed and postmaster at once, a copy for each
        kept = {
            ("bare@x", team, "postmaster"): "quarantined",
            ("pm@x", ops, "postmaster@example.org"): "quarantined",
            ("plan@example.com", team, "team@example.com,postmaster@example.org"): "posted",
            ("plan@example.com", ops, "postmaster@example.org"): "quarantined",
        }
        wait_for(lambda: _rows(store) == kept)
        with store.read() as session:
            listed = {(r.message_id, r.reason) for r in queries.quarantined(session=session)}
        assert listed == {
            ("bare@x", "addressed to postmaster"),
            ("pm@x", "addressed to postmaster"),
            ("plan@example.com", "addressed to postmaster"),
        }
        requeue(store=store, which="all")  # reprocessing keeps it back again: decided when committed
        server.processor.wake()
        wait_for(lambda: _rows(store) == kept)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFEED_")}
    env.update(MAILFEED_DATA_DIR=str(settings.data_dir), MAILFEED_DATABASE_URL=settings.database_url)
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "quarantine", "list"], env=env, capture_output=True, text=True, timeout=120
    ).stdout
    assert {line.split("\t")[3] for line in out.splitlines()} == {"<bare@x>", "<pm@x>", "<plan@example.com>"}
    assert {line.split("\t")[4] for line in out.splitlines()} == {"addressed to postmaster"}
    api = TestClient(create_app(settings, store))
    assert [t["subject"] for t in api.get("/api/feeds/team/threads").json()["threads"]] == ["Quarterly plan"]
    assert api.get("/api/feeds/ops/threads").json()["threads"] == []


def test_a_feed_at_a_postmaster_address_posts_as_any_feed(settings: Settings, store: Store) -> None:
    add_feed(store, slug="pm", address="postmaster@example.com")
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
        client.sendmail("ann@example.com", ["PostMaster@example.com"], make_mail(message_id="to-pm@x"))
        wait_for(lambda: _statuses(store) == {"to-pm@x": "posted"})


ENHANCED = re.compile(r"([245])\d\d [245]\.\d{1,3}\.\d{1,3} ")


def test_ehlo_offers_pipelining_and_enhanced_status_codes_and_every_reply_has_its_code(
    settings: Settings, store: Store
) -> None:
    """Both were honoured but not offered. RFC 2034 makes every 2xx, 4xx and 5xx reply (but the
    greeting and HELO's and EHLO's) carry a code of its class; aiosmtpd's own replies carried none."""
    add_feed(store)
    mail = crlf(make_mail(message_id="piped@x"))
    with smtp_server(settings, store) as server, talk(server.port) as t:
        t.send("EHLO client")
        offered = t.reply()
        assert {"250-PIPELINING", "250-ENHANCEDSTATUSCODES"} <= set(offered) and offered[-1] == "250 HELP"
        commands = [
            "NOOP",
            "HELP",
            "VRFY ann",
            "BOGUS",
            "RCPT TO:<team@example.com>",  # no MAIL yet
            "DATA",
            "MAIL FROM:<ann@example.com> SIZE=lots",
            "MAIL FROM:<",
            "MAIL FROM:<ann@example.com>",
            "MAIL FROM:<bob@example.com>",  # nested
            "RCPT TO:<nobody@example.com>",
            "DATA",  # no recipient yet
            "RCPT TO:<team@example.com>",
            "DATA",
        ]
        t.send(*commands)  # one group, as a pipelining client sends it
        replies = [t.reply() for _ in commands]
        t.send(mail + b"\r\n.", "RSET", "QUIT")  # the message, and commands after it in the same write
        replies += [t.reply() for _ in range(3)]
    codes = [r[0][:9] for r in replies]
    assert codes == [
        "250 2.0.0",
        "250 2.0.0",
        "252 2.0.0",
        "500 5.5.2",
        "503 5.5.1",
        "503 5.5.1",
        "501 5.5.4",
        "553 5.1.3",
        "250 2.1.0",
        "503 5.5.1",
        "550 5.1.1",
        "503 5.5.1",
        "250 2.1.5",
        "354 End d",
        "250 2.0.0",
        "250 2.0.0",
        "221 2.0.0",
    ], replies
    for [line] in replies:
        assert line.startswith("354") or ((m := ENHANCED.match(line)) and m[1] == line[4]), line


def test_an_idle_client_is_told_421_before_it_is_dropped(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session timeout closed the connection with no reply: the client saw a network failure."""
    from gateway.ingest import smtp as smtp_module

    monkeypatch.setattr(smtp_module, "SESSION_TIMEOUT", 1)
    with smtp_server(settings, store) as server, talk(server.port) as t:
        t.send("EHLO client")
        t.reply()
        assert t.reply() == ["421 4.4.2 mailfeed Error: timeout exceeded"]
        assert t.file.readline() == b""  # and then closed


def test_unknown_mail_and_rcpt_parameters_are_555_5_5_4(settings: Settings, store: Store) -> None:
    """BODY=BINARYMIME was a 501 syntax error (RFC 3030 and RFC 5321 4.1.1.11 say 555), and so was a
    well-formed keyword with a hyphen; other unknown parameters were a 555 without its 5.5.4."""
    add_feed(store)
    with smtp_server(settings, store) as server, talk(server.port) as t:
        t.one("EHLO client")
        for params in ("BODY=BINARYMIME", "X-FOO=1", "FOO", "BODY=8BITMIME X-Y=z"):
            assert t.one(f"MAIL FROM:<ann@example.com> {params}")[:9] == "555 5.5.4", params
        assert t.one("MAIL FROM:<ann@example.com> X-=")[:9] == "501 5.5.4"  # no value after "=": syntax
        assert t.one("MAIL FROM:<ann@example.com> BODY=8BITMIME")[:9] == "250 2.1.0"
        assert t.one("RCPT TO:<team@example.com> NOTIFY=NEVER")[:9] == "555 5.5.4"  # no DSN offered
        assert t.one("RCPT TO:<team@example.com>")[:9] == "250 2.1.5"


def test_a_non_ascii_address_needs_smtputf8_on_mail(settings: Settings, store: Store) -> None:
    """RFC 6531 3.4: without the SMTPUTF8 parameter a non-ASCII address is a 553 5.6.7; it was taken."""
    add_feed(store, slug="equipe", address="équipe@example.com")
    with smtp_server(settings, store) as server, talk(server.port) as t:
        t.one("EHLO client")
        assert t.one("MAIL FROM:<zoë@example.com>")[:9] == "553 5.6.7"
        assert t.one("MAIL FROM:<ann@example.com>")[:9] == "250 2.1.0"
        assert t.one("RCPT TO:<équipe@example.com>")[:9] == "553 5.6.7"
        assert t.one("RSET")[:3] == "250"
        assert t.one("MAIL FROM:<zoë@example.com> SMTPUTF8")[:9] == "250 2.1.0"
        assert t.one("RCPT TO:<équipe@example.com>")[:9] == "250 2.1.5"


def _rows(store: Store) -> dict[tuple[str | None, int, str], str]:
    with store.read() as session:
        rows = session.execute(
            sa.select(RawMessage.message_id, RawMessage.feed_id, RawMessage.envelope_to, RawMessage.status)
        )
        return {(m, f, to): s for m, f, to, s in rows}


def _statuses(store: Store) -> dict[str, str]:
    with store.read() as session:
        return {m: s for m, s in session.execute(sa.select(RawMessage.message_id, RawMessage.status)) if m}


def test_mail_for_a_feed_gone_between_rcpt_and_data_is_refused_not_taken_for_nothing(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No command removes a feed, but an admin's SQL can: the message was answered 250 with nothing stored."""
    from gateway.ingest import smtp_feeds

    monkeypatch.setattr(smtp_feeds, "FEED_CACHE_SECONDS", 0.0)  # each lookup reads the feeds again
    feed_id = add_feed(store, slug="old", address="old@example.com")
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port) as c:
        c.ehlo()
        c.mail("ann@example.com")
        assert c.rcpt("old@example.com")[0] == 250
        with store.write() as session, session.begin():
            session.execute(sa.text("DELETE FROM feed WHERE id = :id"), {"id": feed_id})
        code, text = c.data(make_mail(message_id="gone@x"))
    assert (code, text) == (550, b"5.1.1 No feed here has the addresses this message was for any more")
    with store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(RawMessage)) == 0
