"""Helpers for the web tests: deliver mail through the real pipeline, build richer messages."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient
from markupsafe import escape

from gateway.config import Settings
from gateway.pipeline import deliver, process_pending
from gateway.store.db import Store
from gateway.web.app import create_app
from tests.helpers import add_feed, make_mail

HTML = {"accept": "text/html"}
SECURITY = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a2dd1b7c0000000049454e44ae426082"
)


def put(store: Store, settings: Settings, feed_id: int, *mails: bytes) -> None:
    for data in mails:
        deliver(
            store=store,
            data=data,
            feed_ids=[feed_id],
            source="smtp",
            envelope_from="ann@example.com",
            max_bytes=settings.max_message_bytes,
        )
    process_pending(store=store, settings=settings)


def mail_with_attachments(
    *,
    message_id: str,
    subject: str = "Report",
    body: str = "See the attached report.\n",
    sender: str = "Ann Author <ann@example.com>",
    in_reply_to: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "team@example.com"
    msg["Subject"] = subject
    msg["Date"] = "Mon, 02 Mar 2026 10:30:00 +0100"
    msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content(body)
    msg.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="Q1 budget.pdf")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="chart.png")
    return msg.as_bytes()


def three_topics(settings: Settings, store: Store) -> TestClient:
    """A client of a feed with three threads and one with attachments (the error and cursor tests')."""
    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        *[make_mail(message_id=f"t{i}@x", subject=f"Topic {i}", minutes=i) for i in range(3)],
        mail_with_attachments(message_id="att@x"),
    )
    return TestClient(create_app(settings, store))


def answered(r: Any, status: int, words: str, *, page: bool) -> None:
    """`r` has `status`, the security headers and `words` in its message: a page, or JSON's detail."""
    assert r.status_code == status, (r.request.url, r.status_code, r.text[:300])
    for name in SECURITY:
        assert name in r.headers, (r.request.url, name)
    if page:
        assert r.headers["content-type"].startswith("text/html"), r.request.url
        assert str(escape(words)) in r.text, (r.request.url, r.text[-600:])
    else:
        assert r.headers["content-type"] == "application/json", r.request.url
        assert words in r.json()["detail"], (r.request.url, r.json())
