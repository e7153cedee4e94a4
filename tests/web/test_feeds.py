"""Atom and JSON Feed: feedparser reads them without complaint, they match the API, 304s work."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree import ElementTree

import feedparser
import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.feed import FeedInfo, Item, render_atom
from gateway.store.db import Store
from gateway.web.app import create_app
from gateway.web.render import text_feed_html
from tests.helpers import BASE, add_feed, make_mail
from tests.web.common import mail_with_attachments, put


def check_json_feed(doc: dict[str, Any]) -> None:
    """JSON Feed 1.1's rules (feedparser 6.0 reads no JSON Feed, so they are checked here)."""
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(doc["title"], str) and doc["feed_url"].startswith("http")
    for item in doc["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert isinstance(item.get("content_html"), str) or isinstance(item.get("content_text"), str)
        for key in ("date_published", "date_modified"):
            assert datetime.fromisoformat(item[key]).tzinfo is not None
        for a in item["attachments"]:
            assert a["url"].startswith("http") and "/" in a["mime_type"] and isinstance(a["size_in_bytes"], int)


@pytest.fixture
def client(settings: Settings, store: Store) -> TestClient:
    return TestClient(create_app(settings, store))


def test_feed_atom_and_json_match_the_api(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        *[make_mail(message_id=f"t{i}@x", subject=f"Topic {i} <&> \x0c", minutes=i) for i in range(3)],
        mail_with_attachments(message_id="att@x", subject="Files"),
        make_mail(message_id="r@x", subject="Re: Topic 1", in_reply_to="<t1@x>", minutes=50, body="Yes\n"),
    )
    api = client.get("/api/feeds/team/threads").json()["threads"]
    atom = client.get("/f/team/feed.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(atom.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.title for e in parsed.entries] == [t["subject"].replace("\x0c", "") for t in api]
    assert [e.link for e in parsed.entries] == [f"http://testserver/t/{t['id']}" for t in api]
    assert parsed.entries[0].author_detail.name == api[0]["author"]["name"]
    assert parsed.entries[0].author_detail.email == api[0]["author"]["address"]
    files = next(e for e in parsed.entries if e.title == "Files")
    assert {enc.type for enc in files.enclosures} == {"application/pdf", "image/png"}
    assert len({e.id for e in parsed.entries}) == len(api)

    js = client.get("/f/team/feed.json")
    assert js.headers["content-type"].startswith("application/feed+json")
    doc = js.json()
    check_json_feed(doc)
    assert [i["title"] for i in doc["items"]] == [e.title for e in parsed.entries]
    assert [i["id"] for i in doc["items"]] == [e.id for e in parsed.entries]
    assert [i["url"] for i in doc["items"]] == [e.link for e in parsed.entries]
    assert any(a["mime_type"] == "application/pdf" for i in doc["items"] for a in i["attachments"])


def test_thread_feed_has_every_entry_in_date_order(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        make_mail(message_id="a@x"),
        make_mail(
            message_id="b@x",
            subject="Re: Quarterly plan",
            in_reply_to="<a@x>",
            minutes=5,
            sender="Bob <bob@example.org>",
            body="<b>bold</b> & more\n",
        ),
    )
    tid = client.get("/api/feeds/team/threads").json()["threads"][0]["id"]
    detail = client.get(f"/api/threads/{tid}").json()
    parsed = feedparser.parse(client.get(f"/t/{tid}/feed.atom").content)
    assert not parsed.bozo
    assert [e.link for e in parsed.entries] == [
        f"http://testserver/t/{tid}#e{e['id']}" for e in [detail["post"], *detail["comments"]]
    ]
    assert "&lt;b&gt;bold&lt;/b&gt;" in parsed.entries[1].content[0].value  # text stays text
    assert client.get("/t/999999/feed.atom").status_code == 404


def test_conditional_requests_get_304(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    put(store, settings, feed_id, make_mail(message_id="a@x"))
    for url in ("/f/team/feed.atom", "/f/team/feed.json"):
        first = client.get(url)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    put(store, settings, feed_id, make_mail(message_id="b@x", subject="New", minutes=60))
    assert client.get("/f/team/feed.atom", headers={"If-None-Match": etag}).status_code == 200


def test_atom_drops_characters_xml_forbids() -> None:
    item = Item(
        id="urn:x",
        url="http://x/",
        title="bad \x00\x1b title",
        author_name="A",
        author_email="a@x",
        published=BASE,
        updated=BASE,
        content_html="<p>\x07ok</p>",
    )
    parsed = feedparser.parse(
        render_atom(FeedInfo(id="urn:f", title="F", home_url="http://x/", self_url="http://x/a"), [item])
    )
    assert not parsed.bozo and parsed.entries[0].title == "bad  title"


def test_rendered_feed_is_reused_only_while_nothing_changed(
    client: TestClient, store: Store, settings: Settings
) -> None:
    """The rendered-feed cache: a late comment (no newer activity) and a hidden post both show at once."""
    from gateway.store import access

    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        make_mail(message_id="old@x", subject="Old", minutes=0),
        make_mail(message_id="new@x", subject="New", minutes=30),
    )
    first = client.get("/f/team/feed.atom")
    assert client.get("/f/team/feed.atom").content == first.content  # served again, same bytes
    assert b"1 comment" not in first.content

    # a reply dated before the newest activity: the feed's latest time does not move
    put(store, settings, feed_id, make_mail(message_id="late@x", subject="Re: Old", in_reply_to="<old@x>", minutes=5))
    late = client.get("/f/team/feed.atom")
    assert b"1 comment&lt;/a&gt;" in late.content

    new_post = next(e for e in feedparser.parse(late.content).entries if e.title == "New")
    entry_id = int(new_post.link.rsplit("/", 1)[1])
    with store.write() as session, session.begin():
        access.hide_entry(session=session, entry_id=entry_id, by="admin@example.com")
    hidden = client.get("/f/team/feed.atom")
    assert [e.title for e in feedparser.parse(hidden.content).entries] == ["Old"]
    js = client.get("/f/team/feed.json").json()
    assert [i["title"] for i in js["items"]] == ["Old"]


def test_plain_text_keeps_its_paragraphs_and_line_breaks_in_feeds(
    client: TestClient, store: Store, settings: Settings
) -> None:
    """Feed readers drop the page's CSS (white-space: pre-wrap): text comes as paragraphs and <br>,
    escaped, with links as the page makes them; the page keeps its own layout."""
    feed_id = add_feed(store)
    body = (
        "Hi team,\n\nWe move to the 4th floor on Friday.\nDetails: https://intranet.example.com/move?a=1&b=2\n"
        "Bring <boxes> & tape.\n  - indented\n\n\n\nAnn\n"
    )
    put(store, settings, feed_id, make_mail(message_id="a@x", subject="Office move", body=body))
    tid = client.get("/api/feeds/team/threads").json()["threads"][0]["id"]
    link = '<a href="https://intranet.example.com/move?a=1&amp;b=2" rel="noopener noreferrer nofollow">'
    want = (
        '<div class="text" dir="auto"><p>Hi team,</p>\n<p>We move to the 4th floor on Friday.<br>\nDetails: '
        + link
        + "https://intranet.example.com/move?a=1&amp;b=2</a><br>\nBring &lt;boxes&gt; &amp; tape.<br>\n"
        "&nbsp;&nbsp;- indented</p>\n<p>Ann</p></div>"
    )
    for url in ("/f/team/feed.atom", f"/t/{tid}/feed.atom"):
        doc = client.get(url).content
        assert not feedparser.parse(doc).bozo
        [entry] = ElementTree.fromstring(doc).iterfind("{http://www.w3.org/2005/Atom}entry")
        assert entry.findtext("{http://www.w3.org/2005/Atom}content") == want
    assert client.get("/f/team/feed.json").json()["items"][0]["content_html"] == want
    page = client.get(f"/t/{tid}").text
    assert '<div class="text" dir="auto">Hi team,\n\nWe move to the 4th floor on Friday.\nDetails: ' in page


def test_text_for_feeds_has_no_empty_paragraph_and_escapes_every_line() -> None:
    assert text_feed_html("") == '<div class="text" dir="auto"></div>'
    assert text_feed_html("\n \n<a>\r\n\t\tx &\n\n") == (
        '<div class="text" dir="auto"><p>&lt;a&gt;<br>\n' + "&nbsp;" * 8 + "x &amp;</p></div>"
    )
