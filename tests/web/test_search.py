"""Full-text search: imports leave mail searchable, snippets are highlighted and escaped, hits link to the entry."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.store import access, search
from gateway.store.db import Store
from gateway.web.app import create_app
from tests.helpers import add_feed, make_mail
from tests.web.common import mail_with_attachments, put


@pytest.fixture
def client(settings: Settings, store: Store) -> TestClient:
    return TestClient(create_app(settings, store))


def test_search_finds_body_subject_author_and_attachment_names(
    client: TestClient, store: Store, settings: Settings
) -> None:
    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        make_mail(message_id="a@x", subject="Budget review", body="The <b>marmalade</b> supplier raised prices.\n"),
        make_mail(message_id="b@x", subject="Lunch", sender="Zelda Quux <zelda@example.org>", body="Pizza?\n"),
        mail_with_attachments(message_id="c@x", subject="Numbers"),
    )

    def hits(q: str, **extra: str) -> list[dict[str, object]]:
        r = client.get("/api/search", params={"q": q, **extra})
        assert r.status_code == 200
        return r.json()["results"]  # type: ignore[no-any-return]

    [h] = hits("marmalade")
    assert h["subject"] == "Budget review" and "marmalade" in h["snippet"] and "\x02" not in h["snippet"]
    assert h["url"] == f"/t/{h['thread_id']}#e{h['entry_id']}"
    assert [x["subject"] for x in hits("budget")][0] == "Budget review"
    assert [x["subject"] for x in hits("zelda")] == ["Lunch"]
    assert [x["subject"] for x in hits("Q1 budget.pdf")] == ["Numbers"]
    assert hits("nothinglikethis") == []
    assert [x["subject"] for x in hits("marmalade", feed="team")] == ["Budget review"]
    nope = client.get("/api/search", params={"q": "marmalade", "feed": "nope"})
    assert (nope.status_code, nope.json()) == (404, {"detail": "no feed 'nope'"})  # as /api/feeds/nope/threads
    page = client.get("/search", params={"q": "marmalade", "feed": "nope"}, headers={"accept": "text/html"})
    assert page.status_code == 404 and "no feed &#39;nope&#39;" in page.text
    for hostile in ('"', "a AND", "NEAR(", "*", "-x", "col:x", "'", "^", "()"):
        assert client.get("/api/search", params={"q": hostile}).status_code == 200

    page = client.get("/search", params={"q": "marmalade"}).text
    assert f'href="/t/{h["thread_id"]}#e{h["entry_id"]}"' in page
    assert "<mark>marmalade</mark>" in page
    assert "<b>marmalade" not in page  # mail text in the snippet is escaped


def test_searching_a_private_feed_answers_as_for_no_feed(store: Store, settings: Settings) -> None:
    """A feed the reader may not see gets the very answer of one that does not exist: nothing
    tells a non-member that `board` is there."""
    board = add_feed(store, "board", "board@example.com")
    put(store, settings, board, make_mail(message_id="s@x", subject="Secret marmalade"))
    with store.write() as session, session.begin():
        access.set_private(session=session, feed_id=board, members=["boss@example.com"])
    app = create_app(settings.model_copy(update={"auth": "proxy"}), store)

    def search_as(email: str, feed: str) -> tuple[int, object]:
        c = TestClient(app, headers={"X-Forwarded-Email": email}, client=("127.0.0.1", 4000))
        r = c.get("/api/search", params={"q": "marmalade", "feed": feed})
        return r.status_code, r.json()

    assert search_as("alice@example.com", "board") == (404, {"detail": "no feed 'board'"})
    assert search_as("alice@example.com", "nope") == (404, {"detail": "no feed 'nope'"})
    status, body = search_as("boss@example.com", "board")
    assert status == 200 and [h["subject"] for h in body["results"]] == ["Secret marmalade"]  # type: ignore[index]


def test_fts5_query_never_passes_syntax_through() -> None:
    assert search.fts5_query('plan "next quarter" x-ray') == '"plan" "next quarter" "x" "ray"*'
    assert search.fts5_query("NEAR(a b)") == '"NEAR" "a" "b"*'
    assert search.fts5_query('" * ^') == ""


def test_snippet_html_escapes_then_marks() -> None:
    assert search.snippet_html("<i>\x02hit\x03</i>") == "&lt;i&gt;<mark>hit</mark>&lt;/i&gt;"
