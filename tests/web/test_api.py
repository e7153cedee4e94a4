"""The JSON API as DESIGN.md fixes it, over the real app and a real database."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.pipeline import deliver, process_pending
from gateway.store.db import Store
from gateway.web.app import create_app
from tests.helpers import add_feed, make_mail

ENTRY_KEYS = {
    "id",
    "message_id",
    "parent_message_id",
    "author",
    "date",
    "text",
    "quoted_text",
    "signature",
    "html",
    "attachments",
    "forwarded_by",
    "forwards",
    "verified",
}


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


@pytest.fixture
def client(settings: Settings, store: Store) -> TestClient:
    return TestClient(create_app(settings, store))


def test_health_feeds_and_security_headers(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    put(store, settings, feed_id, make_mail(message_id="a@x"), make_mail(message_id="b@x", subject="Other"))
    r = client.get("/healthz")
    assert r.json()["status"] == "ok"  # the components: tests/test_health.py
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/feeds").json() == [
        {"slug": "team", "address": "team@example.com", "title": "team", "thread_count": 2}
    ]


def test_threads_paginate_by_cursor_newest_first(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    put(store, settings, feed_id, *[make_mail(message_id=f"t{i}@x", subject=f"Topic {i}", minutes=i) for i in range(5)])
    seen, cursor = [], None
    for _ in range(5):
        page = client.get(
            "/api/feeds/team/threads", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        ).json()
        seen += [t["subject"] for t in page["threads"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Topic {i}" for i in reversed(range(5))]
    first = client.get("/api/feeds/team/threads").json()["threads"][0]
    assert set(first) == {"id", "subject", "author", "created_at", "last_activity_at", "comment_count", "snippet"}
    assert first["author"] == {"name": "Ann Author", "address": "ann@example.com"}
    assert first["created_at"].endswith("+00:00") and first["snippet"].startswith("Hello team")


def test_errors_are_4xx_with_a_message(client: TestClient, store: Store) -> None:
    add_feed(store)
    r = client.get("/api/feeds/nope/threads")
    assert r.status_code == 404 and r.json() == {"detail": "no feed 'nope'"}
    r = client.get("/api/feeds/team/threads", params={"cursor": "garbage!"})
    assert r.status_code == 400 and "invalid cursor" in r.json()["detail"]
    r = client.get("/api/feeds/team/threads", params={"limit": 0})
    assert r.status_code == 400 and r.json() == {"detail": "invalid limit 0: should be greater than or equal to 1"}
    assert client.get("/api/threads/424242").status_code == 404


def test_thread_detail_entries_and_attachment_download(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    post = EmailMessage()
    post["From"] = "Ann Author <ann@example.com>"
    post["To"] = "team@example.com"
    post["Subject"] = "Report"
    post["Date"] = "Mon, 02 Mar 2026 10:30:00 +0100"
    post["Message-ID"] = "<Report.MixedCase@Example.COM>"
    post.set_content("See the attached report.\n\n-- \nAnn\n")
    post.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="Q1 report.pdf")
    reply = make_mail(
        message_id="re@x",
        subject="Re: Report",
        in_reply_to="<Report.MixedCase@Example.COM>",
        sender="Bob <bob@example.org>",
        minutes=120,
        body="Thanks!\n",
    )
    put(store, settings, feed_id, post.as_bytes(), reply)
    tid = client.get("/api/feeds/team/threads").json()["threads"][0]["id"]
    d = client.get(f"/api/threads/{tid}").json()
    assert (d["feed"], d["subject"]) == ("team", "Report")
    p = d["post"]
    assert set(p) == ENTRY_KEYS
    assert p["message_id"] == "Report.MixedCase@Example.COM"
    assert p["date"] == "2026-03-02T10:30:00+01:00"
    assert p["text"] == "See the attached report."
    assert p["signature"].strip().endswith("Ann")
    assert p["forwarded_by"] is None and p["forwards"] == []
    [att] = p["attachments"]
    assert (att["filename"], att["content_type"], att["size"]) == ("Q1 report.pdf", "application/pdf", 13)
    [comment] = d["comments"]
    assert comment["parent_message_id"] == "Report.MixedCase@Example.COM"
    r = client.get(att["url"])
    assert r.status_code == 200 and r.content == b"%PDF-1.4 fake"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"] == "application/octet-stream"


def test_openapi_lists_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/healthz", "/api/feeds", "/api/feeds/{slug}/threads", "/api/threads/{thread_id}"):
        assert path in paths


def test_index_page_escapes_mail_content(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    put(store, settings, feed_id, make_mail(message_id="x@x", subject="<script>alert(1)</script>"))
    html = client.get("/").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
