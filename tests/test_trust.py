"""Only the right people post: allowed, unknown and spoofed senders, machines, through the real SMTP server."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path

import dkim
import pytest
import sqlalchemy as sa

from gateway.config import Settings
from gateway.store.db import Store
from gateway.store.models import Entry, RawMessage
from gateway.store.policies import set_policy
from tests.helpers import add_feed, make_mail, smtp_server, wait_for

DKIM = Path(__file__).parent / "data" / "dkim"


def statuses(store: Store) -> dict[str, tuple[str, str]]:
    with store.read() as session:
        rows = session.execute(sa.select(RawMessage.message_id, RawMessage.status, RawMessage.reason)).all()
    return {mid: (status, reason) for mid, status, reason in rows}


def test_allowed_posted_unknown_refused_or_held(settings: Settings, store: Store) -> None:
    feed_id = add_feed(store)
    hold_id = add_feed(store, slug="open", address="open@example.com")
    with store.write() as session, session.begin():
        set_policy(
            session, feed_id=feed_id, senders="example.com, partner@other.org", members_only=False, unknown="refuse"
        )
        set_policy(session, feed_id=hold_id, senders="example.com", members_only=False, unknown="hold")
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port) as c:
        c.sendmail("ann@example.com", ["team@example.com"], make_mail(message_id="ok@x"))
        c.sendmail(
            "partner@other.org", ["team@example.com"], make_mail(message_id="partner@x", sender="partner@other.org")
        )
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            c.sendmail(
                "eve@evil.example", ["team@example.com"], make_mail(message_id="eve@x", sender="eve@evil.example")
            )
        code, text = refused.value.recipients["team@example.com"]
        assert code == 550 and text.startswith(b"5.7.1 <eve@evil.example> may not post to <team@example.com>")
        c.sendmail("eve@evil.example", ["open@example.com"], make_mail(message_id="held@x", sender="eve@evil.example"))
        wait_for(lambda: len(statuses(store)) == 3 and "pending" not in {s for s, _ in statuses(store).values()})
    got = statuses(store)
    assert got["ok@x"][0] == got["partner@x"][0] == "posted"
    assert got["held@x"] == ("held", "sender not allowed: eve@evil.example")


def by_raw(store: Store) -> dict[int, tuple[str, str]]:
    """Status and reason by raw id: a message kept back before it was placed has no Message-ID yet."""
    with store.read() as session:
        return {
            i: (status, reason)
            for i, status, reason in session.execute(
                sa.select(RawMessage.id, RawMessage.status, RawMessage.reason)
            ).all()
        }


def records(tmp_path: Path, extra: dict[str, str]) -> str:
    path = tmp_path / "dns.json"
    path.write_text(
        json.dumps(
            {
                "_dmarc.bank.example": "v=DMARC1; p=reject",
                "sel._domainkey.bank.example": f"v=DKIM1; k=rsa; p={(DKIM / 'test.pub.b64').read_text()}",
                **extra,
            }
        )
    )
    return f"file:{path}"


def signed(mid: str) -> bytes:
    mail = make_mail(message_id=mid, sender="CEO <ceo@bank.example>", subject="Wire transfer")
    signature = dkim.sign(
        mail,
        b"sel",
        b"bank.example",
        (DKIM / "test.key").read_bytes(),
        include_headers=[b"from", b"to", b"subject", b"message-id", b"date"],
    )
    return signature + mail


def test_dmarc_failure_is_held_and_a_signed_message_posts(settings: Settings, store: Store, tmp_path: Path) -> None:
    add_feed(store)
    settings = settings.model_copy(update={"verify_dkim": True, "dns_resolver": records(tmp_path, {})})
    spoofed = make_mail(message_id="spoof@x", sender="CEO <ceo@bank.example>", subject="Wire transfer")
    tampered = signed("tampered@x").replace(b"Wire transfer", b"Wire transfer now")
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port) as c:
        for data in (spoofed, signed("real@x"), tampered):
            c.sendmail("ceo@bank.example", ["team@example.com"], data)
        wait_for(lambda: len(statuses(store)) == 3 and "pending" not in {s for s, _ in statuses(store).values()})
    got = statuses(store)
    assert got["spoof@x"][0] == "held" and "DMARC failed for bank.example (policy reject" in got["spoof@x"][1]
    assert got["tampered@x"][0] == "held"
    assert got["real@x"][0] == "posted"
    with store.read() as session:
        auth = session.scalar(sa.select(Entry.auth).where(Entry.message_id == "real@x"))
    assert auth == "dmarc=pass dkim=pass spf=none header.from=bank.example (mailfeed)"


def test_trusted_relay_results_count_and_others_do_not(settings: Settings, store: Store) -> None:
    add_feed(store)
    settings = settings.model_copy(update={"trusted_authserv_ids": "mx.example.net"})
    fail = (
        b"Authentication-Results: mx.example.net; spf=fail smtp.mailfrom=bank.example;"
        b" dmarc=fail header.from=bank.example\r\n"
    )
    forged = b"Authentication-Results: evil.example; dmarc=pass header.from=bank.example\r\n"
    passed = (
        b"Authentication-Results: mx.example.net; dkim=pass header.d=bank.example;"
        b" dmarc=pass header.from=bank.example\r\n"
    )
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port) as c:
        c.sendmail(
            "x@bank.example", ["team@example.com"], fail + make_mail(message_id="fail@x", sender="ceo@bank.example")
        )
        c.sendmail(
            "x@bank.example",
            ["team@example.com"],
            forged + make_mail(message_id="forged@x", sender="ceo@bank.example", subject="s2"),
        )
        c.sendmail(
            "x@bank.example",
            ["team@example.com"],
            passed + make_mail(message_id="pass@x", sender="ceo@bank.example", subject="s3"),
        )
        wait_for(lambda: len(statuses(store)) == 3 and "pending" not in {s for s, _ in statuses(store).values()})
    got = statuses(store)
    assert got["fail@x"][0] == "held" and "mx.example.net" in got["fail@x"][1]
    assert got["forged@x"][0] == "posted"  # an untrusted authserv-id proves nothing either way
    with store.read() as session:
        auth = dict(session.execute(sa.select(Entry.message_id, Entry.auth)).all())
    assert auth["forged@x"] == ""
    assert auth["pass@x"].startswith("dmarc=pass dkim=pass")


def test_machines_and_loops_never_post(settings: Settings, store: Store) -> None:
    add_feed(store)
    ooo = b"Auto-Submitted: auto-replied\r\n" + make_mail(message_id="ooo@x", subject="Automatic reply: Plan")
    ooo_plain = make_mail(message_id="ooo2@x", subject="Abwesenheitsnotiz: Plan")
    dsn = (
        b"From: MAILER-DAEMON@relay.example.com\r\nTo: team@example.com\r\nSubject: Undelivered Mail\r\n"
        b"Message-ID: <dsn@x>\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b--\r\n"
    )
    digest = b"X-Mailfeed-Digest: 1\r\nAuto-Submitted: auto-generated\r\n" + make_mail(
        message_id="digest@x", subject="[team] Digest"
    )
    with smtp_server(settings, store) as server, smtplib.SMTP("127.0.0.1", server.port) as c:
        c.sendmail("ann@example.com", ["team@example.com"], ooo)
        c.sendmail("ann@example.com", ["team@example.com"], ooo_plain)
        c.sendmail("", ["team@example.com"], dsn)
        c.sendmail("team@example.com", ["team@example.com"], digest)
        wait_for(lambda: server.processor.totals["ignored"] == 4)
    got = statuses(store)
    assert {k: v[0] for k, v in got.items()} == {
        "ooo@x": "ignored",
        "ooo2@x": "ignored",
        "dsn@x": "ignored",
        "digest@x": "ignored",
    }
    with store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Entry)) == 0


def test_a_sender_whose_dns_cannot_answer_is_deferred_then_posted(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SERVFAIL for the sender's DMARC record, from a real DNS server: the message waits as
    "deferred" with the reason (not posted, not quarantined for good) and the processor tries it
    again; once DNS answers it is posted. One that still fails a day after it came is quarantined."""
    import time
    from datetime import timedelta

    from gateway import pipeline
    from gateway.health import pending_raw
    from gateway.pipeline import deliver, process_pending
    from gateway.store import queries
    from gateway.store.models import utcnow
    from gateway.worker import Processor
    from tests.servers import DnsServer

    feed_id = add_feed(store)
    dns = DnsServer({"_dmarc.lax.example": "v=DMARC1; p=none"})
    settings = settings.model_copy(update={"verify_dkim": True, "dns_resolver": f"dns:127.0.0.1:{dns.port}"})
    raw = {
        mid: deliver(
            store=store,
            data=make_mail(message_id=mid, sender="Ann <ann@lax.example>", subject=mid),
            feed_ids=[feed_id],
            source="import",
            max_bytes=settings.max_message_bytes,
        )[0]
        for mid in ("late@x", "old@x")
    }
    with store.write() as session, session.begin():
        session.execute(
            sa.update(RawMessage).where(RawMessage.id == raw["old@x"]).values(received_at=utcnow() - timedelta(days=2))
        )
    dns.failing.set()
    try:
        assert process_pending(store=store, settings=settings) == {"deferred": 1, "quarantined": 1}
        got = by_raw(store)
        assert got[raw["late@x"]][0] == "deferred"
        assert got[raw["late@x"]][1].startswith("authenticate: DNS could not answer (TXT _dmarc.lax.example")
        assert got[raw["late@x"]][1].endswith("tried again every 5 minutes for a day after it came")
        assert got[raw["old@x"]][0] == "quarantined" and got[raw["old@x"]][1].endswith("still a day after it came")
        with store.read() as session:
            listed = queries.quarantined(session=session)
        assert [r.status for r in listed] == ["deferred", "quarantined"]
        assert [r.message_id for r in listed] == ["late@x", "old@x"]  # read before DNS was asked: named
        assert "_dmarc.lax.example" in dns.queries
        due = time.monotonic() + 60
        assert pipeline.retry_deferred(store, due) == due and by_raw(store)[raw["late@x"]][0] == "deferred"
        assert pipeline.retry_deferred(store, 0.0) > time.monotonic() + 290
        assert by_raw(store)[raw["late@x"]] == ("pending", got[raw["late@x"]][1])  # a retry, with its reason
        assert pending_raw(store) == (1, None)  # and no backlog for /healthz: nothing new waits
        assert process_pending(store=store, settings=settings) == {"deferred": 1}

        dns.failing.clear()
        monkeypatch.setattr(pipeline, "RETRY_DEFERRED_SECONDS", 1)
        processor = Processor(store, settings, map)
        processor.start()
        try:
            wait_for(lambda: by_raw(store)[raw["late@x"]][0] == "posted", timeout=15)
        finally:
            processor.stop()
    finally:
        dns.close()
    assert by_raw(store)[raw["old@x"]][0] == "quarantined"  # only `reprocess --quarantined` takes it again
    with store.read() as session:
        auth = session.scalar(sa.select(Entry.auth).where(Entry.message_id == "late@x"))
    assert auth == "dmarc=fail dkim=none spf=none header.from=lax.example (mailfeed)"
