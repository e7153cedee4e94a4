"""Threading on mail as real clients write it: each scenario through the pipeline, a real store and the JSON API.

A scenario is a directory under tests/data/threads/, named for the quirk, holding
01.eml, 02.eml, … in the order they arrive. Each test asserts the feed's threads
as {post: {entry: parent}}, every Message-ID written as the file it came in, so
thread count, membership, post and each comment's `parent_message_id` are one
comparison. Every scenario runs twice per database: all files processed as one
batch, and each file processed as it arrives.
"""

from __future__ import annotations

from collections import Counter
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.pipeline import deliver, process_pending, requeue
from gateway.store.db import Store
from gateway.web.app import create_app
from tests.helpers import add_feed

THREADS = Path(__file__).parent / "data" / "threads"

Shape = dict[str, dict[str, str | None]]


@pytest.fixture(params=["one batch", "one at a time"])
def arrival(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(settings: Settings, store: Store) -> TestClient:
    return TestClient(create_app(settings, store))


def arrive(store: Store, settings: Settings, scenario: str, arrival: str) -> tuple[dict[str, str], Counter[str]]:
    """Deliver the scenario's files to feed `team` in order and process them.

    Returns Message-ID → the file that first brought it, and the pipeline's outcome counts.
    """
    feed_id = add_feed(store)
    files = sorted((THREADS / scenario).glob("*.eml"))
    assert files, scenario
    labels: dict[str, str] = {}
    counts: Counter[str] = Counter()
    for path in files:
        raw = path.read_bytes()
        mid = str(BytesHeaderParser().parsebytes(raw)["Message-ID"]).strip().strip("<>")
        labels.setdefault(mid, path.stem)
        deliver(store=store, data=raw, feed_ids=[feed_id], source="import", max_bytes=settings.max_message_bytes)
        if arrival == "one at a time":
            counts += process_pending(store=store, settings=settings)
    counts += process_pending(store=store, settings=settings)
    return labels, counts


def threads(client: TestClient, labels: dict[str, str]) -> Shape:
    """The feed's threads as the API gives them: {post: {entry: parent}}, ids shown as file names.

    An id no file brought (a parent never received) is shown as itself.
    """
    listed = client.get("/api/feeds/team/threads", params={"limit": 200})
    assert listed.status_code == 200, listed.text
    shape: Shape = {}
    seen: list[str] = []
    for t in listed.json()["threads"]:
        got = client.get(f"/api/threads/{t['id']}")
        assert got.status_code == 200, got.text
        d = got.json()
        assert t["comment_count"] == len(d["comments"]), (t, d["comments"])
        entries = [d["post"], *d["comments"]]
        seen += [e["message_id"] for e in entries]
        shape[labels.get(d["post"]["message_id"], d["post"]["message_id"])] = {
            labels.get(e["message_id"], e["message_id"]): (
                labels.get(e["parent_message_id"], e["parent_message_id"]) if e["parent_message_id"] else None
            )
            for e in entries
        }
    assert len(seen) == len(set(seen)), f"a message shown more than once: {sorted(seen)}"
    return shape


def thread_of(client: TestClient, labels: dict[str, str], post: str) -> dict[str, Any]:
    """The API's detail of the thread whose post came in file `post`."""
    for t in client.get("/api/feeds/team/threads", params={"limit": 200}).json()["threads"]:
        d = client.get(f"/api/threads/{t['id']}").json()
        if labels.get(d["post"]["message_id"]) == post:
            return d
    raise AssertionError(f"no thread has {post}.eml as its post")


def test_outlook_replies_with_only_thread_index_go_under_the_message_they_answer(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # Exchange stripped In-Reply-To/References; Thread-Index/Thread-Topic are all that is left.
    # 03 answers 02: its Thread-Index is 02's with 5 bytes more.
    labels, counts = arrive(store, settings, "outlook-thread-index-only", arrival)
    assert threads(client, labels) == {"01": {"01": None, "02": "01", "03": "02"}}
    assert counts == Counter(posted=3)


def test_thread_index_branches_nearest_ancestor_that_came_and_subject_otherwise(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # No file has reply headers. 02 and 03 answer the post (siblings), 04 answers 02. 05 answers
    # a message that never came to the feed, itself an answer to 04. 06's index starts another
    # conversation (her copy had none), 07's Thread-Index is not base64: both join by subject.
    # 08 is 04 sent again with a new Message-ID and the same Thread-Index: it answers 02 as 04 does.
    # 09 is the post sent again so: a post of its own, as it would be without a Thread-Index.
    labels, counts = arrive(store, settings, "outlook-thread-index-branches", arrival)
    shape = {
        "01": {"01": None, "02": "01", "03": "01", "04": "02", "05": "04", "06": "01", "07": "01", "08": "02"},
        "09": {"09": None},
    }
    assert threads(client, labels) == shape
    assert counts == Counter(posted=9)
    # a rebuild from raw reads the index keys it stored the first time the same way
    assert requeue(store=store, which="all") == 9
    assert process_pending(store=store, settings=settings) == Counter(posted=9)
    assert threads(client, labels) == shape


def test_thread_index_replies_that_came_before_their_ancestors_are_adopted(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # Arrival order is the reverse of writing: 01 answers 02, which answers the post 03; no
    # file has reply headers, and 01's and 02's subjects have no thread to join when they come.
    labels, counts = arrive(store, settings, "outlook-thread-index-out-of-order", arrival)
    assert threads(client, labels) == {"03": {"03": None, "02": "03", "01": "02"}}
    assert counts == Counter(posted=3)


def test_list_munged_subjects_are_one_thread(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # "[team] Budget", "Re: [team] Budget", "[team] Re: Budget", "AW: [team] RE: Budget",
    # "Re: Re: [team] Budget", none with reply headers
    labels, counts = arrive(store, settings, "list-munged-subjects", arrival)
    assert threads(client, labels) == {"01": {"01": None, "02": "01", "03": "01", "04": "01", "05": "01"}}
    assert counts == Counter(posted=5)


def test_truncated_references_still_put_each_reply_under_its_parent(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # Files are in arrival order: 07.eml is message 13 of a straight chain, its References cut
    # to <01> <10> <11> <12>, arriving before messages 7-12 (files 08-13). 14.eml answers
    # message 14, which never came, with References <01> <12> <13> <14>: its parent is 13 (07.eml).
    labels, counts = arrive(store, settings, "references-truncated", arrival)
    assert threads(client, labels) == {
        "01": {
            "01": None,
            "02": "01",
            "03": "02",
            "04": "03",
            "05": "04",
            "06": "05",
            "08": "06",
            "09": "08",
            "10": "09",
            "11": "10",
            "12": "11",
            "13": "12",
            "07": "13",
            "14": "07",
        }
    }
    assert counts == Counter(posted=14)


def test_in_reply_to_with_gnus_comment_or_without_brackets_names_the_parent(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # 03: In-Reply-To: <id> (Bo Berg's message of "Mon, 2 Mar 2026 …"), folded, no References;
    # 04: In-Reply-To: id@host, bare. Both say "Re:", so a by-subject fallback would give "01".
    labels, counts = arrive(store, settings, "in-reply-to-with-comment", arrival)
    assert threads(client, labels) == {"01": {"01": None, "02": "01", "03": "02", "04": "03"}}
    assert counts == Counter(posted=4)


def test_replies_before_their_post_are_adopted_with_the_right_parents(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # Arrival: reply 3, reply 2, reply 1 (each naming the one before), then the post.
    labels, counts = arrive(store, settings, "reply-before-parent-chain", arrival)
    assert threads(client, labels) == {"04": {"04": None, "03": "04", "02": "03", "01": "02"}}
    assert counts == Counter(posted=4)
    [listed] = client.get("/api/feeds/team/threads").json()["threads"]
    assert (listed["subject"], listed["author"]["address"]) == ("Offsite agenda", "ann.lind@example.com")


def test_same_subject_after_the_window_is_a_new_thread_and_re_joins_the_recent_one(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # 01/02: "Weekly report" and its reply (5 Jan). 03: a new "Weekly report" 40 days later.
    # 04: header-less "Re: Weekly report" 2 days after 03. 05: the same 31 days after 04,
    # beyond THREAD_SUBJECT_WINDOW_DAYS (30) from the thread's last activity.
    labels, counts = arrive(store, settings, "same-subject-new-topic-after-window", arrival)
    assert settings.thread_subject_window_days == 30
    assert threads(client, labels) == {
        "01": {"01": None, "02": "01"},
        "03": {"03": None, "04": "03"},
        "05": {"05": None},
    }
    assert counts == Counter(posted=5)


def test_same_message_id_twice_with_a_list_footer_is_one_entry(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # 02 is 01 as the list relayed it: [team] subject tag, list headers, footer; same Message-ID.
    labels, counts = arrive(store, settings, "cross-posted-duplicate", arrival)
    assert threads(client, labels) == {"01": {"01": None, "03": "01"}}
    assert counts == Counter(posted=2, duplicate=1)
    post = thread_of(client, labels, "01")["post"]
    assert post["text"] == "Pizza or the Thai place? Vote by Thursday noon.\n\nAnn"  # the first copy, no footer


def test_self_reference_and_mutual_in_reply_to_make_no_cycle(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # 02's In-Reply-To is its own id and its References end with it. 03 and 04 name each
    # other as In-Reply-To: the first to arrive is the post, the other its comment.
    labels, counts = arrive(store, settings, "self-referencing-and-cycle", arrival)
    assert threads(client, labels) == {"01": {"01": None, "02": "01"}, "03": {"03": None, "04": "03"}}
    assert counts == Counter(posted=4)
    for post in ("01", "03"):
        page = client.get(f"/t/{thread_of(client, labels, post)['id']}")
        assert page.status_code == 200, page.text


def test_forward_of_a_message_already_in_the_thread_adds_no_entry_and_lists_the_forwarder(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # 03: Gmail inline forward of the post 01 ("Fwd: Budget", no reply headers).
    # 04: Thunderbird forward of the reply 02 as an attached message/rfc822.
    # 05: a reply to the forward 03. Decided: the original is already here, so each
    # forward is listed on the entry it forwards (as for a second forward of a post),
    # and a reply to a forward is a reply to that entry.
    labels, counts = arrive(store, settings, "forwarded-into-thread", arrival)
    assert threads(client, labels) == {"01": {"01": None, "02": "01", "05": "01"}}
    assert counts == Counter(posted=3, duplicate=2)
    d = thread_of(client, labels, "01")
    entries = [d["post"], *d["comments"]]
    forwarders = {labels[e["message_id"]]: [f["by"]["address"] for f in e["forwards"]] for e in entries}
    assert forwarders == {"01": ["cy.dahl@example.com"], "02": ["d.weber@example.de"], "05": []}


def test_a_calendar_events_updates_and_cancellation_are_comments_on_its_invitation(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # Google Calendar: 01 invites the team, 02 moves the event ("Updated invitation: …"), 04
    # cancels it ("Cancelled event: …"); neither has reply headers, each has a new Message-ID and
    # subject, all three carry the event's UID. 03 answers 01 by its reply headers. 05 starts
    # another discussion and 06 answers it attaching the invitation again: its reply headers
    # place it, and the two threads stay apart.
    labels, counts = arrive(store, settings, "calendar-invitation-updates", arrival)
    shape = {"01": {"01": None, "02": "01", "03": "01", "04": "01"}, "05": {"05": None, "06": "05"}}
    assert threads(client, labels) == shape
    assert counts == Counter(posted=6)
    cancelled = next(c for c in thread_of(client, labels, "01")["comments"] if labels[c["message_id"]] == "04")
    assert cancelled["text"].startswith("This event has been cancelled")
    assert requeue(store=store, which="all") == 6  # a rebuild from raw places them the same way
    assert process_pending(store=store, settings=settings) == Counter(posted=6)
    assert threads(client, labels) == shape


def test_an_outlook_meeting_cancellation_is_a_comment_on_the_request(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # "Canceled: Release review": no reply headers, a Thread-Index that starts a conversation of
    # its own, a subject no reply prefix opens; the text/calendar part's folded UID is the request's.
    labels, counts = arrive(store, settings, "outlook-meeting-cancellation", arrival)
    assert threads(client, labels) == {"01": {"01": None, "02": "01"}}
    assert counts == Counter(posted=2)
    # the meeting's time and place are only in that part: each entry offers it as a file
    d = thread_of(client, labels, "01")
    for entry, method in ((d["post"], b"METHOD:REQUEST"), (d["comments"][0], b"METHOD:CANCEL")):
        [invite] = entry["attachments"]
        assert invite["filename"] == "invite.ics"
        got = client.get(invite["url"])
        assert got.status_code == 200 and method in got.content and b"Room 4.12" in got.content
        assert got.headers["content-disposition"].startswith("attachment")


def test_an_outlook_recall_is_a_comment_on_the_message_it_recalls(
    client: TestClient, store: Store, settings: Settings, arrival: str
) -> None:
    # Outside the sender's Exchange a recall is a plain message, "Recall: <subject>", with no
    # reply headers and a Thread-Index that shares the original's id but not its time (so
    # it names no ancestor). It joins the original's thread by subject; it hides nothing.
    labels, counts = arrive(store, settings, "outlook-recall", arrival)
    assert threads(client, labels) == {"01": {"01": None, "02": "01"}}
    assert counts == Counter(posted=2)
    d = thread_of(client, labels, "01")
    assert d["subject"] == "Salary review dates"
    assert d["post"]["text"].startswith("The salary reviews are on 24 and 25 March")
