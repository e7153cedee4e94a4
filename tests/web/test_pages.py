"""HTML pages over the real app and database: what a reader sees, and that mail content stays inert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.pipeline import process_pending, requeue
from gateway.store.db import Store
from gateway.web.app import create_app
from tests.helpers import add_feed, make_mail
from tests.web.common import mail_with_attachments, put

EML = Path(__file__).resolve().parent.parent / "data" / "eml"
HTML = {"accept": "text/html"}


@pytest.fixture
def client(settings: Settings, store: Store) -> TestClient:
    return TestClient(create_app(settings, store), headers=HTML)


def no_inline_code(html: str) -> None:
    """No script, no inline style, no event handler attributes anywhere in our markup."""
    assert "<script" not in html.lower()
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html, re.I)


def test_feed_page_lists_threads_with_authors_repliers_and_pagination(
    client: TestClient, store: Store, settings: Settings
) -> None:
    feed_id = add_feed(store)
    mails = [make_mail(message_id=f"t{i}@x", subject=f"Topic {i}", minutes=i) for i in range(55)]
    mails.append(
        make_mail(
            message_id="r@x",
            subject="Re: Topic 54",
            in_reply_to="<t54@x>",
            minutes=100,
            sender="Bob Builder <bob@example.org>",
            body="Agreed.\n",
        )
    )
    put(store, settings, feed_id, *mails, mail_with_attachments(message_id="att@x", subject="With files"))
    r = client.get("/f/team")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    no_inline_code(html)
    assert '<link rel="stylesheet" href="/static/style.css">' in html
    assert html.index("Topic 54") < html.index("Topic 53")  # last activity first
    assert "from Bob Builder" in html and "1 comment" in html
    assert '<span class="clip">2 attachments</span>' in html
    assert 'href="/a/ann%40example.com"' in html
    nxt = re.search(r'rel="next" href="([^"]+)"', html)
    assert nxt, "a full page links to the older threads"
    older = client.get(nxt.group(1).replace("&amp;", "&")).text
    assert "Topic 0" in older and "Topic 54" not in older
    assert client.get("/f/nope").status_code == 404
    assert client.get("/f/team?cursor=garbage").status_code == 400
    css = client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_thread_page_folds_quotes_links_replies_and_shows_attachments(
    client: TestClient, store: Store, settings: Settings
) -> None:
    feed_id = add_feed(store)
    reply = make_mail(
        message_id="re@x",
        subject="Re: Report",
        in_reply_to="<att@x>",
        minutes=120,
        sender="Bob <bob@example.org>",
        body="Thanks, looks good.\n\nOn Mon, Ann wrote:\n> See the attached report.\n",
    )
    put(store, settings, feed_id, mail_with_attachments(message_id="att@x"), reply)
    tid = client.get("/api/feeds/team/threads").json()["threads"][0]["id"]
    detail = client.get(f"/api/threads/{tid}").json()
    post_id, comment_id = detail["post"]["id"], detail["comments"][0]["id"]
    html = client.get(f"/t/{tid}").text
    no_inline_code(html)
    assert f'id="e{post_id}"' in html and f'id="e{comment_id}"' in html
    assert f'in reply to <a href="#e{post_id}" dir="auto">Ann Author</a>' in html
    assert '<details class="quoted"><summary>Quoted text</summary>' in html
    assert "Q1 budget.pdf" in html and "download>" in html
    assert f'src="/attachments/{post_id}/1/chart.png?inline=1"' in html
    img = client.get(f"/attachments/{post_id}/1/chart.png?inline=1")
    assert img.headers["content-type"] == "image/png"
    pdf = client.get(f"/attachments/{post_id}/0/Q1%20budget.pdf?inline=1")
    assert pdf.headers["content-type"] == "application/octet-stream"  # never inline unless a raster image
    raw = client.get(f"/e/{post_id}/raw.eml")
    assert raw.status_code == 200 and b"Message-ID: <att@x>" in raw.content
    assert raw.headers["content-disposition"].startswith("attachment")
    perma = client.get(f"/e/{comment_id}", follow_redirects=False)
    assert perma.status_code == 303 and perma.headers["location"] == f"/t/{tid}#e{comment_id}"
    assert client.get("/t/999999").status_code == 404


def test_permalinks_survive_reprocess(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        make_mail(message_id="a@x"),
        make_mail(message_id="b@x", subject="Re: Quarterly plan", in_reply_to="<a@x>", minutes=5),
    )
    before = client.get("/api/feeds/team/threads").json()["threads"][0]
    page_before = client.get(f"/t/{before['id']}").text
    requeue(store=store, which="all")
    process_pending(store=store, settings=settings)
    after = client.get("/api/feeds/team/threads").json()["threads"][0]
    assert after["id"] == before["id"]
    assert re.findall(r'id="(e\d+)"', client.get(f"/t/{after['id']}").text) == re.findall(r'id="(e\d+)"', page_before)
    hits = client.get("/api/search", params={"q": "plan"}).json()["results"]
    assert hits, "reprocess rebuilds the search index"


def test_hostile_html_mail_is_inert_and_remote_images_wait_for_the_reader(
    client: TestClient, store: Store, settings: Settings
) -> None:
    feed_id = add_feed(store)
    put(store, settings, feed_id, (EML / "html-remote-image-and-script.eml").read_bytes())
    tid = client.get("/api/feeds/team/threads").json()["threads"][0]["id"]
    r = client.get(f"/t/{tid}")
    html = r.text
    assert "<script" not in html.lower() and "onerror" not in html.lower() and "javascript:" not in html.lower()
    assert "img-src 'self';" in r.headers["content-security-policy"]
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    if 'class="remote-image"' in html:
        shown = client.get(f"/t/{tid}?images=1")
        assert "img-src 'self' https:" in shown.headers["content-security-policy"]
        assert '<img src="http' in shown.text and 'referrerpolicy="no-referrer"' in shown.text


def test_author_page_and_front_page(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        make_mail(message_id="a@x", subject="First"),
        make_mail(message_id="b@x", subject="Second", sender="Bob <bob@example.org>", minutes=3),
    )
    html = client.get("/a/ann@example.com").text
    assert "First" in html and "Second" not in html and "Ann Author" in html
    front = client.get("/").text
    assert 'href="/f/team"' in front and "Second" in front and "2 threads" in front


def test_an_author_page_of_nobody_is_a_404_saying_so(client: TestClient, store: Store, settings: Settings) -> None:
    """Not a 200 with a blank heading ("< > · 0 messages"): an address nobody posted from where this
    reader may look, or no address at all."""
    put(store, settings, add_feed(store), make_mail(message_id="a@x"))
    assert client.get("/a/ann@example.com").status_code == 200
    for address, words in [
        ("%00", "no messages from &#39;\\x00&#39;"),
        ("nobody@example.com", "no messages from &#39;nobody@example.com&#39;"),
        ("not an address", "no messages from &#39;not an address&#39;"),
    ]:
        r = client.get(f"/a/{address}")
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), address
        assert words in r.text, r.text


def test_errors_are_pages_for_browsers_and_json_for_the_api(client: TestClient, store: Store) -> None:
    add_feed(store)
    page = client.get("/t/12345")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    api = client.get("/api/threads/12345")
    assert api.status_code == 404 and api.json() == {"detail": "no thread 12345"}


def test_a_merged_threads_old_addresses_lead_to_the_thread_that_holds_it_now(
    client: TestClient, store: Store, settings: Settings
) -> None:
    """Digests, feeds and bookmarks name the old id; the entry that started the thread says where it went."""
    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        make_mail(message_id="x@x", subject="Other"),
        make_mail(message_id="y@x", subject="Re: Lost", references="<z@x>", minutes=1),
    )
    ids = {t["subject"]: t["id"] for t in client.get("/api/feeds/team/threads").json()["threads"]}
    other, lost = ids["Other"], ids["Re: Lost"]
    put(store, settings, feed_id, make_mail(message_id="w@x", subject="Re: Other", references="<x@x> <z@x>", minutes=2))
    assert [t["id"] for t in client.get("/api/feeds/team/threads").json()["threads"]] == [other]  # merged
    for old, new in (
        (f"/t/{lost}?images=1", f"/t/{other}?images=1"),
        (f"/t/{lost}/feed.atom", f"/t/{other}/feed.atom"),
        (f"/api/threads/{lost}", f"/api/threads/{other}"),
    ):
        moved = client.get(old, follow_redirects=False)
        assert (moved.status_code, moved.headers["location"]) == (307, new), old
    followed = client.get(f"/api/threads/{lost}").json()
    assert followed["id"] == other and "y@x" in {c["message_id"] for c in followed["comments"]}
    assert client.get("/t/999999", follow_redirects=False).status_code == 404  # no entry of that id either


def test_right_to_left_text_reads_in_its_own_direction(client: TestClient, store: Store, settings: Settings) -> None:
    """Hebrew or Arabic plain text in a box laid out left to right puts its punctuation at the wrong
    end; every place mail text is shown lets the browser take the direction from the text."""
    feed_id = add_feed(store)
    put(store, settings, feed_id, (EML / "thunderbird-hebrew-iso-8859-8-i.eml").read_bytes())
    feed = client.get("/f/team").text
    assert re.search(r'<a class="subject" href="/t/\d+" dir="auto">הפגישה נדחתה</a>', feed)
    thread_id = re.search(r'href="/t/(\d+)"', feed).group(1)  # type: ignore[union-attr]
    page = client.get(f"/t/{thread_id}").text
    assert '<h1 dir="auto">הפגישה נדחתה</h1>' in page
    assert '<div class="text" dir="auto">שלום לכולם,' in page
    # names are isolated too: an override character in one cannot turn the rest of its line around
    assert re.search(r'<a class="author" href="/a/dana%40example.co.il" dir="auto">Dana Levi</a>', page)
    no_inline_code(page)


def test_an_encrypted_message_says_so_instead_of_showing_nothing(
    client: TestClient, store: Store, settings: Settings
) -> None:
    """PGP/MIME (Thunderbird) and S/MIME (Outlook) mail reach the team as one encrypted part; mutt's
    inline PGP as an armoured body."""
    feed_id = add_feed(store)
    names = ("thunderbird-openpgp-encrypted.eml", "outlook-smime-encrypted.eml", "mutt-inline-pgp-encrypted.eml")
    for name in (*names, "calendar-invite.eml"):
        put(store, settings, feed_id, (EML / name).read_bytes())
    pages = {}
    for t in client.get("/api/feeds/team/threads").json()["threads"]:
        pages[t["subject"]] = client.get(f"/t/{t['id']}").text
    assert len(pages) == 4
    encrypted = (
        ("...", "OpenPGP", "encrypted.asc"),
        ("Gehaltsliste Q2", "S/MIME", "smime.p7m"),
        ("Zugangsdaten Staging", "OpenPGP", "encrypted.asc"),
    )
    for subject, kind, file in encrypted:
        page = pages[subject]
        assert (
            f'<p class="notice">This message is encrypted ({kind}): only its recipients&#39; keys open it. '
            "The original message (.eml) holds it whole.</p>"
        ) in page
        assert f"download>{file}</a>" in page
    assert 'class="notice"' not in "".join(p for s, p in pages.items() if s not in [e[0] for e in encrypted])
    assert "BEGIN PGP MESSAGE" not in pages["Zugangsdaten Staging"]


def test_a_sender_with_no_address_is_named_as_written_and_links_nowhere(
    client: TestClient, store: Store, settings: Settings
) -> None:
    """ "From: test" and "From: Undisclosed recipients:;" gave an empty author: a nameless link to
    /a/, a 404."""
    feed_id = add_feed(store)
    raw = b"From: Undisclosed recipients:;\nTo: team@example.com\nSubject: Notice\nMessage-ID: <na@x>\n\nHello\n"
    put(store, settings, feed_id, raw)
    feed = client.get("/f/team").text
    assert "<bdi>Undisclosed recipients</bdi>" in feed and 'href="/a/"' not in feed
    thread_id = re.search(r'href="/t/(\d+)"', feed).group(1)  # type: ignore[union-attr]
    page = client.get(f"/t/{thread_id}").text
    assert '<span class="author" dir="auto">Undisclosed recipients</span>' in page and 'href="/a/"' not in page
    assert '<div class="body" dir="auto">' in page


def test_remote_images_the_reader_loads_are_asked_for_over_https(
    client: TestClient, store: Store, settings: Settings
) -> None:
    """The page's policy loads https images only: a newsletter's http: image showed as broken."""
    feed_id = add_feed(store)
    html = '<p>Spring catalogue</p><img src="http://cdn.example.net/hero.jpg" alt="Linen shirts" width="600">'
    raw = (
        b"From: Shop <news@shop.example>\nTo: team@example.com\nSubject: Catalogue\nMessage-ID: <http-img@x>\n"
        b"MIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n" + html.encode()
    )
    put(store, settings, feed_id, raw)
    tid = client.get("/api/feeds/team/threads").json()["threads"][0]["id"]
    shown = client.get(f"/t/{tid}?images=1").text
    assert '<img src="https://cdn.example.net/hero.jpg"' in shown and "http://cdn" not in shown
