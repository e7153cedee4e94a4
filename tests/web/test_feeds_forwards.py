"""A forward of an older message in the feeds: its arrival is the thread's activity (the post
keeps the original's date), and feed items show who forwarded it and what they wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from xml.etree import ElementTree

import feedparser
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.pipeline import process_pending, requeue
from gateway.store import writes
from gateway.store.db import Store
from gateway.store.models import Thread
from gateway.web.app import create_app
from tests.helpers import add_feed
from tests.web.common import put

ORIGINAL = datetime(2026, 11, 3, 9, 15, tzinfo=UTC)  # before the newer threads below, all in the past
NEWER = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
CY_FORWARDS = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
DEE_FORWARDS = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)

CY = """From: Cy Chan <cy@example.com>
To: team@example.com
Subject: Fwd: Office move
Date: {date}
Message-ID: <fwd-cy@example.com>
Content-Type: text/plain; charset="us-ascii"

FYI, see below.
<Cy>

---------- Forwarded message ---------
From: Ann Author <ann@example.com>
Date: Tue, Nov 3, 2026 at 9:15 AM
Subject: Office move
To: Cy Chan <cy@example.com>

Hi team,

We move to the 4th floor on Friday.
Details: https://intranet.example.com/move?a=1&b=2
Bring <boxes> & tape.
"""

DEE = """From: Dee Doe <dee@example.com>
To: team@example.com
Subject: Fwd: Office move
Date: {date}
Message-ID: <fwd-dee@example.com>
Content-Type: text/plain; charset="us-ascii"

Also for the Berlin people.

Begin forwarded message:

From: Ann Author <ann@example.com>
Subject: Office move
Date: November 3, 2026 at 9:15:00 AM
To: Dee Doe <dee@example.com>

Hi team,

We move to the 4th floor on Friday.
Details: https://intranet.example.com/move?a=1&b=2
Bring <boxes> & tape.
"""


def mail(n: int, when: datetime) -> bytes:
    return (
        f"From: Bob <bob@example.com>\nTo: team@example.com\nSubject: Topic {n}\nDate: {format_datetime(when)}\n"
        f"Message-ID: <t{n}@example.com>\nContent-Type: text/plain; charset=us-ascii\n\nNews {n}.\n"
    ).encode()


def cy(when: datetime = CY_FORWARDS) -> bytes:
    return CY.format(date=format_datetime(when)).encode()


def dee(when: datetime = DEE_FORWARDS) -> bytes:
    return DEE.format(date=format_datetime(when)).encode()


@pytest.fixture
def client(settings: Settings, store: Store) -> TestClient:
    return TestClient(create_app(settings, store))


def threads(client: TestClient) -> list[dict[str, Any]]:
    r = client.get("/api/feeds/team/threads", params={"limit": 200})
    assert r.status_code == 200
    return r.json()["threads"]  # type: ignore[no-any-return]


def atom_contents(client: TestClient, url: str) -> list[str]:
    """The HTML of each entry as the Atom document carries it (feedparser rewrites it: <br> to <br />)."""
    body = client.get(url).content
    assert not feedparser.parse(body).bozo
    ns = {"a": "http://www.w3.org/2005/Atom"}
    return [e.findtext("a:content", "", ns) for e in ElementTree.fromstring(body).iterfind("a:entry", ns)]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_forward_of_an_older_message_is_news_in_the_api_feeds_and_first_page(
    client: TestClient, store: Store, settings: Settings
) -> None:
    """Cy forwards a 3 Nov message after 55 newer threads: it heads the list, the feeds and page 1,
    while its post keeps the original's author and date; Dee forwarding it again brings it back up."""
    feed_id = add_feed(store)
    put(store, settings, feed_id, *[mail(n, NEWER + timedelta(hours=n)) for n in range(55)])
    put(store, settings, feed_id, cy())
    first = threads(client)[0]
    assert first["subject"] == "Office move"
    assert at(first["last_activity_at"]) == CY_FORWARDS
    assert at(first["created_at"]) == ORIGINAL  # the thread and its post keep the original's date
    post = client.get(f"/api/threads/{first['id']}").json()["post"]
    assert post["author"]["name"] == "Ann Author" and at(post["date"]) == ORIGINAL
    assert [(f["by"]["name"], at(f["date"])) for f in post["forwards"]] == [("Cy Chan", CY_FORWARDS)]

    atom = feedparser.parse(client.get("/f/team/feed.atom").content)
    assert not atom.bozo and atom.entries[0].title == "Office move"
    assert client.get("/f/team/feed.json").json()["items"][0]["title"] == "Office move"
    assert "Office move" in client.get("/f/team").text

    # ten newer threads push it down; Dee's forward of the same original is news again
    put(store, settings, feed_id, *[mail(n, CY_FORWARDS + timedelta(minutes=n)) for n in range(55, 65)])
    assert threads(client)[0]["subject"] == "Topic 64"
    put(store, settings, feed_id, dee())
    listed = threads(client)
    assert len(listed) == 66  # still one post, listing both forwarders
    assert listed[0]["subject"] == "Office move" and at(listed[0]["last_activity_at"]) == DEE_FORWARDS
    assert at(listed[0]["created_at"]) == ORIGINAL and listed[0]["comment_count"] == 0
    assert feedparser.parse(client.get("/f/team/feed.atom").content).entries[0].title == "Office move"


def test_reprocess_all_gives_the_same_ids_threads_and_order_after_forwards(
    client: TestClient, store: Store, settings: Settings
) -> None:
    feed_id = add_feed(store)
    put(store, settings, feed_id, *[mail(n, NEWER + timedelta(hours=n)) for n in range(5)])
    put(store, settings, feed_id, cy())
    put(store, settings, feed_id, *[mail(n, CY_FORWARDS + timedelta(minutes=n)) for n in range(5, 8)])
    put(store, settings, feed_id, dee())

    def snapshot() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        listed = threads(client)
        return listed, client.get(f"/api/threads/{listed[0]['id']}").json()

    before = snapshot()
    assert before[0][0]["subject"] == "Office move"
    assert requeue(store=store, which="all") == 10
    assert process_pending(store=store, settings=settings) == {"posted": 9, "duplicate": 1}
    assert snapshot() == before


def test_recounting_a_thread_keeps_its_forwards_arrival_as_its_activity(
    client: TestClient, store: Store, settings: Settings
) -> None:
    """`refresh_thread` (a merge, an adoption, a deleted comment) counts forwards as `place` does."""
    feed_id = add_feed(store)
    put(store, settings, feed_id, cy(), dee())
    [t] = threads(client)
    with store.write() as session, session.begin():
        session.execute(sa.update(Thread).where(Thread.id == t["id"]).values(last_activity_at=ORIGINAL))
        writes.refresh_thread(session=session, thread_id=t["id"])
    assert at(threads(client)[0]["last_activity_at"]) == DEE_FORWARDS


def test_a_forward_without_a_date_counts_from_when_it_was_stored(
    client: TestClient, store: Store, settings: Settings
) -> None:
    feed_id = add_feed(store)
    start = datetime.now(UTC).replace(microsecond=0)
    put(store, settings, feed_id, mail(1, NEWER), cy().replace(b"Date: ", b"X-Not-Date: ", 1))
    first = threads(client)[0]
    assert first["subject"] == "Office move" and at(first["created_at"]) == ORIGINAL
    assert start <= at(first["last_activity_at"]) <= datetime.now(UTC)


def test_feed_items_say_who_forwarded_the_post_and_what_they_wrote(
    client: TestClient, store: Store, settings: Settings
) -> None:
    feed_id = add_feed(store)
    put(store, settings, feed_id, cy(), dee())
    [t] = threads(client)
    html = atom_contents(client, "/f/team/feed.atom")[0]
    js = client.get("/f/team/feed.json").json()["items"][0]["content_html"]
    thread_feed = atom_contents(client, f"/t/{t['id']}/feed.atom")[0]
    for body in (html, js, thread_feed):
        cy_at = body.index("Forwarded by <strong>Cy Chan</strong>: FYI, see below.<br>\n&lt;Cy&gt;")
        dee_at = body.index("Forwarded by <strong>Dee Doe</strong>: Also for the Berlin people.")
        assert cy_at < dee_at < body.index("Hi team,")  # in order, above the original
        assert "<Cy>" not in body  # the note is escaped


def test_feed_shows_a_later_forwarder_even_when_the_feeds_latest_activity_stays(
    client: TestClient, store: Store, settings: Settings
) -> None:
    """The rendered-feed cache: Dee's forward, dated before the feed's newest thread, shows at once."""
    feed_id = add_feed(store)
    put(store, settings, feed_id, cy(), mail(1, DEE_FORWARDS + timedelta(hours=1)))
    assert b"Dee Doe" not in client.get("/f/team/feed.atom").content
    put(store, settings, feed_id, dee())
    assert b"Forwarded by &lt;strong&gt;Dee Doe" in client.get("/f/team/feed.atom").content
    assert "Forwarded by <strong>Dee Doe" in client.get("/f/team/feed.json").text
