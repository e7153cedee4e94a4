"""Helpers for the web tests: deliver mail through the real pipeline, build richer messages."""

from __future__ import annotations

from email.message import EmailMessage

from gateway.config import Settings
from gateway.pipeline import deliver, process_pending
from gateway.store.db import Store

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
