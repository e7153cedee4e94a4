"""Notices: the one polite explanation a person gets for replying to a digest as a whole.

Queued by the ingest side (gateway/store/digest_writes.queue_notice, at most one
per sender and day), sent here with the RFC 3834 marks of an automatic reply:
`Auto-Submitted: auto-replied` and a null return path, so it can never loop.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import sqlalchemy as sa

from gateway.config import Settings
from gateway.digest.send import Outcome, Outgoing, RelayRefused, relay_from_url, run_sync
from gateway.store.db import Store
from gateway.store.models import Feed
from gateway.store.models_digest import Notice

TEXT = """Hello,

you replied to a digest of {title}. Replies to a digest as a whole are not
posted, because they would land on no thread in particular.

To answer a thread, use the "Reply by email" link under it in the digest, or
read and answer it on the web: {feed_url}

This is an automatic message; you will get it at most once a day.
"""


def notice_message(*, feed: Feed, recipient: str, feed_url: str, now: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{feed.title} <{feed.address}>"
    msg["To"] = recipient
    msg["Subject"] = f"[{feed.title}] Replies to a digest are not posted"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=feed.address.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Mailfeed-Loop"] = "notice"
    msg.set_content(TEXT.format(title=feed.title, feed_url=feed_url))
    return msg


def send_notices(
    *,
    store: Store,
    settings: Settings,
    now: datetime,
    base_url: str,
    send: Callable[..., Coroutine[Any, Any, list[Outcome]]],
) -> int:
    """Send queued notices; each is claimed first so two instances never both send it."""
    if not settings.relay_url:
        return 0
    try:
        relay = relay_from_url(settings.relay_url)
    except RelayRefused:  # said by the digests' sending; the notices wait, pending, for a relay to use
        return 0
    with store.write() as session, session.begin():
        pending = session.execute(
            sa.select(Notice, Feed).join(Feed, Feed.id == Notice.feed_id).where(Notice.status == "pending")
        ).all()
        mine = [
            (n, f)
            for n, f in pending
            if session.execute(
                sa.update(Notice).where(Notice.id == n.id, Notice.status == "pending").values(status="sending")
            ).rowcount
            == 1
        ]
    if not mine:
        return 0
    batch = [
        Outgoing(
            notice_message(feed=f, recipient=n.recipient, feed_url=f"{base_url}/f/{f.slug}", now=now).as_bytes(),
            "",
            n.recipient,
        )
        for n, f in mine
    ]
    outcomes = run_sync(send(relay, batch))
    with store.write() as session, session.begin():
        for (n, _), outcome in zip(mine, outcomes, strict=True):
            status = "sent" if outcome.status == "sent" else ("pending" if outcome.status == "temporary" else "failed")
            session.execute(sa.update(Notice).where(Notice.id == n.id).values(status=status, sent_at=now))
    return sum(1 for o in outcomes if o.status == "sent")
