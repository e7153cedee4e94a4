"""What the SMTP side logs (README, Health and logs), through the real server: each refusal once at INFO
with the reply as the client got it, each accepted message, and `source` "smtp" on its JSON lines."""

from __future__ import annotations

import json
import logging
import smtplib
import threading
import time

import pytest
import sqlalchemy as sa

from gateway.config import Settings
from gateway.ingest.raw_writer import RawWriter
from gateway.logs import JsonFormatter
from gateway.store import writes
from gateway.store.db import Store
from tests.helpers import add_feed, make_mail, smtp_server, wait_for
from tests.ingest.test_smtp_protocol import crlf, talk

LOGGER = "gateway.ingest.smtp"


def smtp_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER]


def test_every_refusal_is_logged_once_at_info_with_the_client_and_the_reply_it_got(
    settings: Settings, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """555 5.5.4 (BODY=BINARYMIME, NOTIFY=) had no line at all; the 553s and 550s had one without the reply."""
    add_feed(store)
    add_feed(store, slug="equipe", address="équipe@example.com")
    settings = settings.model_copy(update={"allowed_senders": "example.com"})
    replies = []
    with caplog.at_level("INFO", logger=LOGGER), smtp_server(settings, store) as server, talk(server.port) as t:
        t.one("EHLO client")
        for command in (
            "MAIL FROM:<ann@example.com> BODY=BINARYMIME",
            "MAIL FROM:<zoë@example.com>",
            b"MAIL FROM:<j\xf6rg@example.com>",
            "MAIL FROM:<",
            "RCPT TO:<team@example.com>",  # before MAIL
            "MAIL FROM:<stranger@elsewhere.example>",
            "RCPT TO:<team@example.com>",  # not an allowed sender
            "RSET",
            "MAIL FROM:<ann@example.com>",
            "RCPT TO:<team@example.com> NOTIFY=NEVER",
            "RCPT TO:<nobody@example.com>",
            "RCPT TO:<équipe@example.com>",
            b"RCPT TO:<t\xf6am@example.com>",
            "FROB",
        ):
            replies.append(t.one(command))
    refusals = [r for r in replies if r[:1] in "45"]
    assert [r[:9] for r in refusals] == [
        "555 5.5.4",
        "553 5.6.7",
        "553 5.1.7",
        "553 5.1.3",
        "503 5.5.1",
        "550 5.7.1",
        "555 5.5.4",
        "550 5.1.1",
        "553 5.6.7",
        "553 5.1.3",
        "500 5.5.2",
    ]
    logged = [r for r in smtp_lines(caplog) if r.getMessage().startswith("refused ")]
    assert len(logged) == len(refusals), [r.getMessage() for r in logged]  # once each
    for reply, line in zip(refusals, logged, strict=True):
        assert line.getMessage().endswith(f" from 127.0.0.1: {reply}"), (reply, line.getMessage())
        assert line.levelno == logging.INFO and line.peer == "127.0.0.1"  # type: ignore[attr-defined]


def test_a_size_refusal_at_mail_from_logs_the_reply_the_client_got(
    settings: Settings, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """It logged aiosmtpd's `552 Error: message size exceeds fixed maximum message size` instead."""
    add_feed(store)
    settings = settings.model_copy(update={"max_message_bytes": 50_000})
    with caplog.at_level("INFO", logger=LOGGER), smtp_server(settings, store) as server, talk(server.port) as t:
        t.one("EHLO client")
        reply = t.one("MAIL FROM:<ann@example.com> SIZE=80000")
    assert reply == "552 5.3.4 Message too big: at most 50000 bytes are accepted"
    [line] = [r.getMessage() for r in smtp_lines(caplog) if r.getMessage().startswith("refused")]
    assert f"from 127.0.0.1: {reply}" in line and "Error" not in line, line


def test_an_empty_message_is_named_as_one_without_a_message_id(
    settings: Settings, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    add_feed(store)
    with caplog.at_level("INFO", logger=LOGGER), smtp_server(settings, store) as server, talk(server.port) as t:
        t.one("EHLO client")
        t.send("MAIL FROM:<ann@example.com>", "RCPT TO:<team@example.com>", "DATA")
        assert [t.reply()[-1][:3] for _ in range(3)] == ["250", "250", "354"]
        assert t.one(".") == "554 5.6.0 Empty message"
    lines = [r.getMessage() for r in smtp_lines(caplog)]
    assert "- refused from 127.0.0.1: 554 5.6.0 Empty message" in lines, lines


def test_a_message_whose_client_hangs_up_after_the_final_dot_is_logged_as_accepted(
    settings: Settings, store: Store, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was stored (a retry is a duplicate) but had no "accepted" line: the session was cancelled
    while it waited for the commit, and the line was never written."""
    add_feed(store)
    entered, release = threading.Event(), threading.Event()
    save = RawWriter._save

    def held_save(self: RawWriter, items: list[writes.NewRaw]) -> list[int]:
        entered.set()
        release.wait(10)
        return save(self, items)

    monkeypatch.setattr(RawWriter, "_save", held_save)
    with caplog.at_level("INFO", logger=LOGGER), smtp_server(settings, store) as server:
        with talk(server.port) as t:
            t.one("EHLO client")
            t.send("MAIL FROM:<ann@example.com>", "RCPT TO:<team@example.com>", "DATA")
            assert [t.reply()[-1][:3] for _ in range(3)] == ["250", "250", "354"]
            t.send(crlf(make_mail(message_id="gone@example.com")) + b"\r\n.")
            assert entered.wait(10)
        time.sleep(0.3)  # the hang-up reaches the server while the commit waits
        release.set()
        wait_for(lambda: _message_ids(store) == {"gone@example.com"})
        accepted = wait_for(
            lambda: [r.getMessage() for r in smtp_lines(caplog) if "accepted" in r.getMessage()], timeout=5
        )
    assert len(accepted) == 1
    assert accepted[0].startswith("<gone@example.com> accepted from 127.0.0.1 as raw 1 of feed 1"), accepted
    assert accepted[0].endswith("; the session ended before the reply")


def test_json_lines_of_the_smtp_side_carry_source_smtp(
    settings: Settings, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """The processing line of a message had `source`; its SMTP "accepted" line, and the refusals, had not."""
    add_feed(store)
    with caplog.at_level("INFO", logger=LOGGER), smtp_server(settings, store) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
            client.sendmail("ann@example.com", ["team@example.com"], make_mail(message_id="plan@example.com"))
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("ann@example.com", ["nobody@example.com"], make_mail(message_id="lost@example.com"))
        wait_for(lambda: _message_ids(store) == {"plan@example.com"})
    lines = [json.loads(JsonFormatter().format(r)) for r in smtp_lines(caplog)]
    [accepted] = [x for x in lines if x.get("message_id") == "plan@example.com"]
    assert accepted["source"] == "smtp" and accepted["feed"] == 1 and accepted["peer"] == "127.0.0.1"
    [refused] = [x for x in lines if x["message"].startswith("refused RCPT <nobody@example.com>")]
    assert refused["source"] == "smtp"
    assert all(x.get("source") == "smtp" for x in lines), lines


def _message_ids(store: Store) -> set[str | None]:
    with store.read() as session:
        return set(session.scalars(sa.text("SELECT message_id FROM raw_message")))
