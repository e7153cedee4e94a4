"""End to end through the real SMTP server (aiosmtpd on 127.0.0.1) with stdlib smtplib."""

from __future__ import annotations

import smtplib
import threading

import hypothesis
import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import SMTP
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from gateway.config import Settings
from gateway.ingest.smtp_protocol import GatewaySMTP
from gateway.store.db import Store
from gateway.store.models import RawMessage
from gateway.web.app import create_app
from tests.helpers import add_feed, make_mail, smtp_server, wait_for


def send(port: int, data: bytes, to: str = "team@example.com", sender: str = "ann@example.com") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(sender, [to], data)


def test_post_replies_duplicate_and_refusals_make_one_thread(settings: Settings, store: Store) -> None:
    add_feed(store)
    settings = settings.model_copy(update={"max_message_bytes": 200_000})
    post = make_mail(message_id="plan@example.com", minutes=0)
    reply1 = make_mail(
        message_id="r1@example.org",
        subject="Re: Quarterly plan",
        sender="Bob <bob@example.org>",
        in_reply_to="<plan@example.com>",
        references="<plan@example.com>",
        minutes=10,
        body="Looks good.\n\nOn Mon, 2 Mar 2026 at 09:00, Ann Author <ann@example.com> wrote:\n> Hello team,\n",
    )
    reply2 = make_mail(
        message_id="r2@example.net",
        subject="Re: Quarterly plan",
        sender="Cy <cy@example.net>",
        in_reply_to="<r1@example.org>",
        references="<plan@example.com> <r1@example.org>",
        minutes=20,
    )
    reply3 = make_mail(
        message_id="r3@example.com",
        subject="RE: Quarterly plan",
        sender="Dee <dee@example.com>",
        minutes=30,
        body="Outlook sent this without reply headers.\n",
    )
    duplicate = b"Received: from relay.example.com\r\n" + post
    with smtp_server(settings, store) as server:
        send(server.port, reply1)  # arrives before its parent
        send(server.port, post)
        send(server.port, reply2)
        send(server.port, reply3)
        send(server.port, duplicate)
        with smtplib.SMTP("127.0.0.1", server.port) as client:
            client.ehlo()
            code, text = client.docmd("MAIL FROM:<ann@example.com>")
            assert code == 250
            code, text = client.docmd("RCPT TO:<nobody@example.com>")
            assert (code, text[:5]) == (550, b"5.1.1")
            client.rset()
            big = make_mail(message_id="big@x", body="x" * 300_000)
            # declared with SIZE=: refused at MAIL FROM, before the data is sent
            with pytest.raises(smtplib.SMTPSenderRefused) as declared:
                client.sendmail("ann@example.com", ["team@example.com"], big)
            assert declared.value.smtp_code == 552 and declared.value.smtp_error.startswith(b"5.3.4")
            # undeclared: refused once the data is in
            client.mail("ann@example.com")
            client.rcpt("team@example.com")
            code, text = client.data(big)
            assert (code, text[:5]) == (552, b"5.3.4")

        client = TestClient(create_app(settings, store))
        threads = wait_for(
            lambda: (t := client.get("/api/feeds/team/threads").json()["threads"]) and t[0]["comment_count"] == 3 and t
        )
    assert len(threads) == 1
    detail = client.get(f"/api/threads/{threads[0]['id']}").json()
    assert detail["post"]["message_id"] == "plan@example.com"
    assert detail["post"]["parent_message_id"] is None
    parents = {c["message_id"]: c["parent_message_id"] for c in detail["comments"]}
    assert parents == {
        "r1@example.org": "plan@example.com",
        "r2@example.net": "r1@example.org",
        "r3@example.com": "plan@example.com",
    }
    assert [c["message_id"] for c in detail["comments"]] == ["r1@example.org", "r2@example.net", "r3@example.com"]
    r1 = detail["comments"][0]
    assert r1["text"] == "Looks good."
    assert "Hello team" in r1["quoted_text"]
    with store.read() as session:
        statuses = sorted(session.scalars(sa.select(RawMessage.status)))
    assert statuses == ["duplicate", "posted", "posted", "posted", "posted"]


def test_long_lines_bare_lf_8bit_and_smtputf8_are_accepted(settings: Settings, store: Store) -> None:
    add_feed(store, slug="equipe", address="équipe@example.com")
    add_feed(store, slug="team", address="team@example.com")
    long_line = make_mail(message_id="long@x", body="<p>" + "word " * 800 + "</p>\n")
    bare_lf = make_mail(message_id="lf@x").replace(b"\r\n", b"\n")
    eight_bit = (
        "From: Zoë <zoe@example.com>\nTo: team@example.com\nSubject: Grüße\n"
        "Message-ID: <8bit@x>\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n\nSchöne Grüße\n"
    ).encode()
    with smtp_server(settings, store) as server:
        with smtplib.SMTP("127.0.0.1", server.port) as client:
            client.ehlo()
            assert client.has_extn("8bitmime") and client.has_extn("smtputf8")
            client.sendmail("ann@example.com", ["team@example.com"], long_line)
            # smtplib would rewrite bare LF to CRLF; send DATA by hand so the server sees it
            client.mail("ann@example.com")
            client.rcpt("team@example.com")
            code, _ = client.docmd("DATA")
            assert code == 354
            client.send(bare_lf + b"\r\n.\r\n")
            code, text = client.getreply()
            assert code == 250, text
            client.sendmail(
                "zoë@example.com", ["équipe@example.com"], eight_bit, mail_options=["SMTPUTF8", "BODY=8BITMIME"]
            )
        wait_for(lambda: server.processor.totals["posted"] == 3)
    client = TestClient(create_app(settings, store))
    subjects = {t["subject"] for f in ("team",) for t in client.get(f"/api/feeds/{f}/threads").json()["threads"]}
    assert subjects == {"Quarterly plan"}
    unicode_feed = next(f for f in client.get("/api/feeds").json() if f["address"] == "équipe@example.com")
    threads = client.get(f"/api/feeds/{unicode_feed['slug']}/threads").json()["threads"]
    assert [t["subject"] for t in threads] == ["Grüße"]


def test_concurrent_sessions_all_committed(settings: Settings, store: Store) -> None:
    add_feed(store)
    errors: list[Exception] = []
    with smtp_server(settings, store) as server:

        def client(n: int) -> None:
            try:
                with smtplib.SMTP("127.0.0.1", server.port) as c:
                    for i in range(10):
                        c.sendmail(
                            "ann@example.com",
                            ["team@example.com"],
                            make_mail(message_id=f"c{n}-{i}@x", subject=f"s{n}-{i}"),
                        )
            except Exception as exc:  # collected and asserted below
                errors.append(exc)

        workers = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert errors == []
        wait_for(lambda: server.processor.totals["posted"] == 80)
    with store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(RawMessage)) == 80


def test_internal_fault_is_451_not_500(settings: Settings, store: Store) -> None:
    add_feed(store)
    with smtp_server(settings, store) as server:
        store.writer.dispose()
        # raw bytes can no longer be stored: the 250 must not be given
        with store.write() as session, session.begin():
            session.execute(sa.text("DROP TABLE raw_message" + ("" if store.is_sqlite else " CASCADE")))
        with smtplib.SMTP("127.0.0.1", server.port) as client:
            with pytest.raises(smtplib.SMTPDataError) as err:
                client.sendmail("ann@example.com", ["team@example.com"], make_mail(message_id="x@x"))
            # the 451 ended the transaction: a new one starts (it was "503 nested MAIL", the old envelope kept)
            assert client.docmd("MAIL FROM:<bob@example.com>")[0] == 250
    assert err.value.smtp_code == 451
    assert err.value.smtp_error.startswith(b"4.3.0")


def test_a_bounce_to_a_feed_is_ignored_as_one_and_odd_envelopes_are_refused_at_once(
    settings: Settings, store: Store
) -> None:
    """The null sender was stored as the text "<>", so a bounce was no bounce and was posted. An
    address with bytes that are not UTF-8, or a NUL, was taken and the message refused only after
    its data, with a 451 the sender retries for days (or the NUL cut the stored sender short)."""
    import socket

    add_feed(store)
    dsn = make_mail(message_id="dsn@mx.example.net", subject="Undelivered Mail Returned to Sender")
    with smtp_server(settings, store) as server:
        send(server.port, dsn, sender="")
        wait_for(lambda: _statuses(store).get("dsn@mx.example.net") == "ignored")
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        reader = raw.makefile("rb")
        reader.readline()
        replies = []
        for line in (b"EHLO pr\xf6be", b"MAIL FROM:<j\xf6rg@example.com>", b"MAIL FROM:<ann\x00@example.com>"):
            raw.sendall(line + b"\r\n")
            while (reply := reader.readline())[3:4] == b"-":
                pass
            replies.append(reply[:3] if line.startswith(b"EHLO") else reply[:9])
        raw.sendall(b"MAIL FROM:<ann@example.com>\r\nRCPT TO:<t\xf6am@example.com>\r\n")
        replies += [reader.readline()[:9], reader.readline()[:9]]
        # the HELO name with those bytes (and a NUL) is stored readable: the message was refused with a 451
        mail = make_mail(message_id="helo@example.com").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        raw.sendall(b"RSET\r\nEHLO pr\xf6\x00be\r\n")
        while (reply := reader.readline())[3:4] == b"-" or reply.startswith(b"250 2.0.0 OK"):
            pass
        raw.sendall(b"MAIL FROM:<ann@example.com>\r\nRCPT TO:<team@example.com>\r\nDATA\r\n" + mail + b"\r\n.\r\n")
        replies += [reader.readline()[:3] for _ in range(4)]
        reader.close()
        raw.close()
    assert replies == [b"250", b"553 5.1.7", b"553 5.1.7", b"250 2.1.0", b"553 5.1.3", b"250", b"250", b"354", b"250"]
    with store.read() as session:
        assert (
            session.scalar(sa.select(RawMessage.envelope_from).where(RawMessage.message_id == "dsn@mx.example.net"))
            == ""
        )


def test_a_slow_sender_is_timed_per_read_and_rates_count_messages_not_mail_commands(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DATA was cut off after the session's whole timeout however steadily the client sent; and
    MAIL/RSET pairs, with no message, used up a (forgeable) sender's rate."""
    import time

    from gateway.ingest import smtp as smtp_module

    monkeypatch.setattr(smtp_module, "SESSION_TIMEOUT", 1)
    add_feed(store)
    settings = settings.model_copy(update={"rate_per_sender": 3})
    mail = make_mail(message_id="slow@example.com").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.ehlo()
        for _ in range(5):
            assert client.docmd("MAIL FROM:<ann@example.com>")[0] == 250
            client.rset()
        client.mail("ann@example.com")
        client.rcpt("team@example.com")
        assert client.docmd("DATA")[0] == 354
        for i in range(0, len(mail), len(mail) // 4 + 1):  # 2.4 s in all, 0.6 s between reads
            client.send(mail[i : i + len(mail) // 4 + 1])
            time.sleep(0.6)
        client.send(b"\r\n.\r\n")
        assert client.getreply()[0] == 250
        wait_for(lambda: "slow@example.com" in _raw_ids(store))


def _statuses(store: Store) -> dict[str, str]:
    with store.read() as session:
        return {m: st for m, st in session.execute(sa.select(RawMessage.message_id, RawMessage.status)) if m}


PATHS = [
    "<a@b.com> SIZE=100 BODY=8BITMIME",
    "<a@b.com>",
    "<>",
    "<a.b+c@x-y.example.com>  SMTPUTF8",
    "<a@b.com>x",
    "<a@b.com> SIZE=1 ",
    " <a@b.com>",
    "<a..b@c>",
    "<.a@b>",
    "<a@b> (c) X=1",
    '<"q u"@b.com>',
    "<a@[1.2.3.4]>",
    "<a@b.com>\tX=1",
    "a@b.com",
    "<@x,@y:a@b.com>",
    '<a@b.com> X="1"',
    "<ü@b.de>",
    "<a@b.com>  ",
    "<a@b..com>",
]


@given(st.one_of(st.sampled_from(PATHS), st.text(alphabet='<>@.ab -\t"()[]:,\\=+ü', max_size=24)))
@hypothesis.settings(max_examples=400, deadline=None)
def test_the_fast_path_for_plain_addresses_reads_them_as_aiosmtpd_does(arg: str) -> None:
    class Bare(GatewaySMTP):
        def __init__(self) -> None:  # only what _getaddr reads
            self.local_part_limit = 0

    try:
        theirs = SMTP._getaddr(Bare(), arg)
    except Exception:  # aiosmtpd's parser raises on some input ("<"): a malformed address to us
        theirs = (None, None)
    assert Bare()._getaddr(arg) == theirs


def test_an_address_the_header_parser_chokes_on_is_refused_as_malformed(settings: Settings, store: Store) -> None:
    add_feed(store)
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
        client.ehlo()
        assert client.docmd("MAIL", "FROM:<")[0] == 553  # aiosmtpd alone answers 451 (an IndexError inside)
        assert client.docmd("MAIL", "FROM:<ann@example.com> BODY=8BITMIME")[0] == 250
        assert client.docmd("RCPT", "TO:<team@example.com>")[0] == 250
        assert client.docmd("RCPT", "TO:<nobody@example.com>")[0] == 550


def test_a_client_that_hangs_up_after_the_final_dot_stops_nothing(settings: Settings, store: Store) -> None:
    """A client closed its socket right after the final dot, before the reply: its session's task was
    cancelled with it, the writer thread then set a result on a cancelled future and died, and every
    later message waited for a reply that never came (and /healthz still said ok)."""
    import socket

    add_feed(store)
    with smtp_server(settings, store) as server:
        for i in range(3):
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            raw.recv(1024)
            mail = make_mail(message_id=f"gone{i}@example.com").replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")
            raw.sendall(
                b"EHLO client\r\nMAIL FROM:<ann@example.com>\r\nRCPT TO:<team@example.com>\r\nDATA\r\n"
                + mail
                + b"\r\n.\r\n"
            )
            raw.close()  # without reading a reply
        send(server.port, make_mail(message_id="after@example.com"))  # answered 250, or smtplib raises
        wait_for(lambda: _raw_ids(store) >= {"after@example.com"})


def _raw_ids(store: Store) -> set[str]:
    with store.read() as session:
        return set(session.scalars(sa.select(RawMessage.message_id)))


def test_size_refusals_are_logged(settings: Settings, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    """Each refusal is logged at INFO (README, Health and logs); the two size refusals were not."""
    add_feed(store)
    settings = settings.model_copy(update={"max_message_bytes": 50_000})
    big = make_mail(message_id="big@x", body="x" * 80_000)
    with (
        caplog.at_level("INFO", logger="gateway.ingest.smtp"),
        smtp_server(settings, store) as server,
        smtplib.SMTP("127.0.0.1", server.port) as client,
    ):
        with pytest.raises(smtplib.SMTPSenderRefused):
            client.sendmail("ann@example.com", ["team@example.com"], big)  # SIZE= declared
        client.mail("ann@example.com")
        client.rcpt("team@example.com")
        assert client.data(big)[0] == 552
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert len(refusals) == 2 and all("over 50000 bytes" in m for m in refusals), refusals
