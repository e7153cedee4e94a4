"""Limits and faults at the SMTP edge, through the real server: each refusal names its limit."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.config import Settings
from gateway.store.db import Store, open_store
from gateway.store.models import Entry
from tests.helpers import add_feed, make_mail, smtp_server, wait_for
from tests.servers import Postgres, start_postgres


def nested(depth: int) -> bytes:
    head = b"From: a@example.com\r\nTo: team@example.com\r\nSubject: deep\r\nMessage-ID: <deep@x>\r\n"
    out = head + b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
    for i in range(1, depth):
        out += b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i - 1, i)
    out += b"--b%d\r\nContent-Type: text/plain\r\n\r\nhi\r\n" % (depth - 1)
    for i in reversed(range(depth)):
        out += b"--b%d--\r\n" % i
    return out


def test_structure_limits_are_refused_naming_the_limit(settings: Settings, store: Store) -> None:
    add_feed(store)
    settings = settings.model_copy(update={"max_mime_depth": 5, "max_headers": 40})
    many_headers = b"".join(b"X-Trace-%d: x\r\n" % i for i in range(50)) + make_mail(message_id="h@x")
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port) as c:
        for data, needle in (
            (nested(8), b"nesting too deep (more than 5 levels)"),
            (many_headers, b"Too many header fields (5"),
        ):
            with pytest.raises(smtplib.SMTPDataError) as err:
                c.sendmail("a@example.com", ["team@example.com"], data)
            assert err.value.smtp_code == 554 and needle in err.value.smtp_error
        c.sendmail("a@example.com", ["team@example.com"], nested(4))  # within the limit


def with_part_header(field: bytes) -> bytes:
    return (
        b"From: a@example.com\r\nTo: team@example.com\r\nSubject: file\r\nMessage-ID: <f@x>\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
        b"--b\r\nContent-Type: application/pdf\r\n" + field + b"\r\n\r\nJVBERi0=\r\n--b--\r\n"
    )


def test_a_mime_field_long_enough_to_stall_the_parser_is_refused(settings: Settings, store: Store) -> None:
    """The email package splits a field's parameters in quadratic time: 100,000 ";" inside the quotes
    of one part's Content-Disposition held a worker for minutes. MAX_HEADER_BYTES bounds only the
    message's own header block, so part headers have their own bound."""
    add_feed(store)
    stall = b'Content-Disposition: attachment; filename="' + b"; " * 100_000 + b'"'
    folded = b'Content-Type: application/pdf; name="' + b";\r\n " * 10_000 + b'"'
    fine = b'Content-Disposition: attachment; filename="' + b"a; " * 1_000 + b'.pdf"'
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port) as c:
        for field in (stall, folded):
            with pytest.raises(smtplib.SMTPDataError) as err:
                c.sendmail("a@example.com", ["team@example.com"], with_part_header(field))
            assert err.value.smtp_code == 554
            assert err.value.smtp_error == b"5.6.0 MIME header field too long (more than 16384 bytes)"
        c.sendmail("a@example.com", ["team@example.com"], with_part_header(fine))


def test_recipient_cap_and_sender_rate_limit(settings: Settings, store: Store) -> None:
    add_feed(store)
    settings = settings.model_copy(update={"max_recipients": 2, "rate_per_sender": 3})
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port) as c:
        c.ehlo()
        c.mail("a@example.com")
        assert c.rcpt("team@example.com")[0] == 250
        assert c.rcpt("team+x@example.com")[0] == 250
        code, text = c.rcpt("team+y@example.com")
        assert (code, text[:5]) == (452, b"4.5.3")
        c.rset()
        for i in range(3):  # the MAIL above sent no message and took none of the three
            c.sendmail("a@example.com", ["team@example.com"], make_mail(message_id=f"r{i}@x"))
        with pytest.raises(smtplib.SMTPSenderRefused) as err:
            c.sendmail("a@example.com", ["team@example.com"], make_mail(message_id="r9@x"))
        assert err.value.smtp_code == 451 and err.value.smtp_error.startswith(
            b"4.7.1 Too many messages from <a@example.com>"
        )
        c.sendmail("b@example.com", ["team@example.com"], make_mail(message_id="b@x"))  # another sender is fine


def test_full_disk_is_452_and_nothing_is_half_stored(tmp_path: Path) -> None:
    # SQLite's max_page_count makes "database or disk is full" real; PostgreSQL's disk_full
    # (SQLSTATE 53100) takes the same path in storage_full()
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/full.sqlite3", workers=1, sqlite_synchronous="NORMAL"
    )
    store = open_store(settings.db_url)
    add_feed(store)
    with store.writer.connect() as conn:
        pages = conn.exec_driver_sql("pragma page_count").scalar()

    def cap(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.execute(f"pragma max_page_count={pages + 2}")

    sa.event.listen(store.writer, "connect", cap)
    store.writer.dispose()
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port) as c:
        big = make_mail(message_id="big@x", body="0123456789abcdef\n" * 40_000)
        with pytest.raises(smtplib.SMTPDataError) as err:
            c.sendmail("a@example.com", ["team@example.com"], big)
        assert (err.value.smtp_code, err.value.smtp_error[:5]) == (452, b"4.3.1")
        sa.event.remove(store.writer, "connect", cap)
        store.writer.dispose()
        c.sendmail("a@example.com", ["team@example.com"], big)  # room again: the retry lands
        wait_for(lambda: server.processor.totals["posted"] == 1)
    store.dispose()


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    server = start_postgres()
    yield server
    server.stop()


def test_database_down_is_451_and_mail_flows_again_when_it_returns(own_postgres: Postgres, settings: Settings) -> None:
    store = open_store(own_postgres.url())
    try:
        add_feed(store)
        settings = settings.model_copy(update={"database_url": own_postgres.url()})
        with smtp_server(settings, store) as server:
            with smtplib.SMTP("127.0.0.1", server.port) as c:
                c.sendmail("a@example.com", ["team@example.com"], make_mail(message_id="before@x"))
            own_postgres.stop(keep=True)
            with smtplib.SMTP("127.0.0.1", server.port) as c, pytest.raises(smtplib.SMTPDataError) as err:
                c.sendmail("a@example.com", ["team@example.com"], make_mail(message_id="during@x"))
            assert err.value.smtp_code == 451  # never a 250 without a commit
            own_postgres.start()
            with smtplib.SMTP("127.0.0.1", server.port) as c:
                c.sendmail("a@example.com", ["team@example.com"], make_mail(message_id="during@x"))  # the MTA's retry

            def both() -> bool:
                try:
                    with store.read() as session:
                        return set(session.scalars(sa.select(Entry.message_id))) == {"before@x", "during@x"}
                except sa.exc.OperationalError:  # this test's own pooled connection died with the server
                    return False

            wait_for(both, timeout=30)
    finally:
        store.dispose()


def test_attachments_are_counted_by_their_disposition_in_any_part() -> None:
    from gateway.limits import Limits, check_structure

    parts = b"".join(
        b"--b\r\nContent-Type: application/pdf\r\n" + disposition + b"\r\n\r\nJVBERi0=\r\n"
        for disposition in (
            b'Content-Disposition: attachment; filename="a.pdf"',
            b'content-disposition:\tATTACHMENT; filename="b.pdf"',
            b'Content-Disposition: inline; filename="c.pdf"',
            b'Content-Disposition: attachment;\r\n filename="d.pdf"',
        )
    )
    mail = b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts + b"--b--\r\n"
    breach = check_structure(mail, Limits(max_attachments=2))
    assert breach is not None and breach.reply == "554 5.6.0 Too many attachments (more than 2)"
    assert check_structure(mail, Limits(max_attachments=3)) is None  # the inline one is not counted
