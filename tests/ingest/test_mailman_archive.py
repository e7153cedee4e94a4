"""A Mailman 2 text archive (pipermail's monthly `.txt`, or `.txt.gz`) imports as the list's threads.

Its archiver obscures every address ("From: ann at example.com (Ann Smith)")
and leaves notices where it scrubbed attachments; tests/data/archives holds
one month as it writes one.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.ingest.archive import open_archive
from gateway.ingest.backfill import import_archive
from gateway.message import Address
from gateway.parse import parse
from gateway.store.db import Store
from gateway.web.app import create_app
from tests.helpers import add_feed

ARCHIVE = Path(__file__).parent.parent / "data" / "archives" / "mailman2-pipermail-2026-March.txt"


def test_a_mailman_2_text_archive_keeps_its_authors_threads_and_the_authors_words(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    packed = tmp_path / "2026-March.txt.gz"
    packed.write_bytes(gzip.compress(ARCHIVE.read_bytes()))
    summary = import_archive(
        store=store, settings=settings, feed_id=add_feed(store), messages=open_archive(packed).messages
    )
    assert (summary.read, summary.counts["posted"]) == (3, 3)
    client = TestClient(create_app(settings, store))
    [listed] = client.get("/api/feeds/team/threads").json()["threads"]
    thread = client.get(f"/api/threads/{listed['id']}").json()
    post, comments = thread["post"], thread["comments"]
    authors = [(e["author"]["name"], e["author"]["address"]) for e in [post, *comments]]
    assert authors == [
        ("Ann Smith", "ann.smith@example.com"),
        ("Bo Sörensen", "bo@example.org"),
        ("Ann Smith", "ann.smith@example.com"),
    ]
    assert [c["parent_message_id"] for c in comments] == ["plan-1@example.com", "plan-2@example.org"]
    assert [e["date"] for e in [post, *comments]] == [
        "2026-03-02T10:00:00+01:00",
        "2026-03-02T12:30:00+01:00",
        "2026-03-02T14:05:00+01:00",
    ]
    # the authors' words; the scrubber's notices (and the quote above one) are not
    assert post["text"] == "Hello team,\n\nthe plan for the quarter is attached; comments by Friday please.\n\nAnn"
    assert post["signature"].startswith("-------------- next part --------------\nA non-text attachment was scrubbed")
    assert comments[0]["text"] == "Looks good to me. One question: does the budget include travel?"
    assert comments[0]["quoted_text"].startswith("On Mon, Mar 2, 2026 at 10:00 AM Ann Smith")
    assert "scrubbed" not in comments[0]["text"] + comments[0]["quoted_text"]


@pytest.mark.parametrize(
    ("written", "author"),
    [
        ("ann at example.com (Ann Smith)", ("Ann Smith", "ann@example.com")),
        (
            "Ann.Smith at Mail.Example.co.uk (=?utf-8?q?Ann_S=C3=B6rensen?=)",
            ("Ann Sörensen", "ann.smith@mail.example.co.uk"),
        ),
        ("ann at example.com (ann at example.com)", ("", "ann@example.com")),  # no name: the address again
        ("ann at example.com", ("", "ann@example.com")),
        ("Ann Smith", ("Ann Smith", "")),  # nothing that reads as an address: the name as written
        ("meet at noon (Ann)", ("meet at noon (Ann)", "")),  # no domain
        ("Ann Smith <ann@example.com>", ("Ann Smith", "ann@example.com")),
    ],
)
def test_an_address_a_list_archive_obscured_is_read_as_it_was(written: str, author: tuple[str, str]) -> None:
    raw = f"From: {written}\nMessage-ID: <a@x>\n\nhi\n".encode()
    assert parse(raw).author == Address(*author)
