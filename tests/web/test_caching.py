"""Cache-Control and Vary: a reader's pages, API answers, raw messages and downloads are never
stored; feeds and inline images are kept only to be revalidated (ETag), so an admin's deletion
takes effect at the next view."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.store.db import Store
from gateway.web.app import create_app
from tests.helpers import add_feed, make_mail
from tests.web.common import PNG, mail_with_attachments, put

HTML = {"accept": "text/html"}


def test_signed_in_answers_are_never_stored_and_vary_on_the_proxy_header(store: Store, settings: Settings) -> None:
    put(store, settings, add_feed(store), mail_with_attachments(message_id="a@x"))
    app = create_app(settings.model_copy(update={"auth": "proxy", "admins": "root@example.com"}), store)
    root = TestClient(app, headers={**HTML, "X-Forwarded-Email": "root@example.com"}, client=("127.0.0.1", 4000))
    thread = root.get("/api/feeds/team/threads").json()["threads"][0]["id"]
    entry = root.get(f"/api/threads/{thread}").json()["post"]
    urls = [
        "/",
        "/f/team",
        f"/t/{thread}",
        f"/e/{entry['id']}",
        f"/e/{entry['id']}/raw.eml",
        "/api/feeds",
        "/api/feeds/team/threads",
        f"/api/threads/{thread}",
        "/api/search?q=report",
        entry["attachments"][0]["url"],  # a download
        "/admin/quarantine",
        "/account",
        "/t/424242",  # errors too
        "/search?q=report&feed=nope",
    ]
    for url in urls:
        r = root.get(url, follow_redirects=False)
        assert r.status_code < 500, url
        assert r.headers["cache-control"] == "private, no-store", url
        assert "X-Forwarded-Email" in r.headers["vary"], url
    feed = root.get("/f/team/feed.atom")
    assert feed.headers["cache-control"] == "private, no-cache" and "X-Forwarded-Email" in feed.headers["vary"]
    assert "cache-control" not in root.get("/static/style.css").headers  # the stylesheet: the server's own rules


def test_with_email_sign_in_answers_vary_on_the_cookie(store: Store, settings: Settings) -> None:
    add_feed(store)
    app = create_app(settings.model_copy(update={"auth": "email"}), store)
    r = TestClient(app, follow_redirects=False).get("/api/feeds")
    assert r.status_code == 401
    assert r.headers["cache-control"] == "private, no-store" and r.headers["vary"] == "Cookie"


def test_an_inline_image_is_revalidated_and_gone_once_its_entry_is_deleted(store: Store, settings: Settings) -> None:
    put(
        store,
        settings,
        add_feed(store),
        make_mail(message_id="a@x"),
        mail_with_attachments(message_id="b@x", in_reply_to="<a@x>"),
    )
    client = TestClient(create_app(settings, store), follow_redirects=False)
    thread = client.get("/api/feeds/team/threads").json()["threads"][0]["id"]
    comment = client.get(f"/api/threads/{thread}").json()["comments"][0]
    image = next(a["url"] for a in comment["attachments"] if a["content_type"] == "image/png") + "?inline=1"

    first = client.get(image)
    assert first.content == PNG and first.headers["content-type"] == "image/png"
    assert first.headers["cache-control"] == "private, no-cache"  # kept, but asked for again at each use
    etag = first.headers["etag"]
    again = client.get(image, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(image, headers={"if-none-match": '"other"'}).content == PNG

    page = client.get(f"/t/{thread}", headers=HTML).text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    deleted = client.post(f"/admin/entries/{comment['id']}/delete", data={"csrf": token.group(1), "confirm": "yes"})
    assert deleted.status_code == 303
    gone = client.get(image, headers={"if-none-match": etag})
    assert gone.status_code == 404  # the browser's copy is not reused: it asked, and the answer is no
