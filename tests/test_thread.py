"""Threading: pure rules, and the notmuch corpus imported end to end."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from gateway.config import Settings
from gateway.forward import is_forward_subject
from gateway.ingest.archive import open_archive
from gateway.ingest.backfill import import_archive
from gateway.pipeline import deliver, process_pending, requeue
from gateway.store.db import Store
from gateway.store.models import Entry, RawMessage, Thread
from gateway.thread import (
    Child,
    Known,
    SubjectThread,
    adopt,
    is_reply_subject,
    normalize_subject,
    place,
    reply_chain,
    thread_index_keys,
)
from tests.conftest import corpus_dir
from tests.helpers import add_feed, make_mail

NOW = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW = timedelta(days=30)


def test_normalize_subject_strips_localised_prefixes_and_list_tags() -> None:
    assert normalize_subject("Re: [team] AW: Fwd:  Budget   2027") == "budget 2027"
    assert normalize_subject("SV: Re[2]: Budget 2027") == "budget 2027"
    assert normalize_subject("Réunion") == "réunion"
    assert is_reply_subject("RE: x") and is_reply_subject("[list] Aw: x") and not is_reply_subject("Fwd: x")


@pytest.mark.parametrize(
    "prefix",
    [
        "Vá:",
        "ΑΠ:",
        "Απ:",
        "Отв:",
        "Відп:",
        "R:",
        "Risp:",
        "Odg:",
        "Atb:",
        "BLS:",
        "回复:",
        "回覆:",
        "答复：",
        "رد:",
        "השב:",
    ]
    + ["Trả lời:", "ตอบกลับ:"]
    + ["Recall:"]  # Outlook's request to recall a message: about that message, in its thread
    + ["返信:", "Odp.:", "ODP.:", "Atb.:"]  # Japanese; the dotted Polish and Latvian forms
    # Korean Outlook's, Greek's second form, Hebrew's, Lotus Notes' German, French's "Réf. :", Lithuanian,
    # Bulgarian; Japanese clients' full-width "Ｒｅ："
    + ["회신:", "답장:", "ΣΧΕΤ:", "תגובה:", "Antwort:", "Réf. :", "ATS:", "Отг:", "Ｒｅ：", "ＲＥ： FW:"],
)
def test_reply_prefixes_of_more_languages_make_a_reply_subject(prefix: str) -> None:
    # a reply without reply headers joins its thread by subject only when its subject says it is one
    assert is_reply_subject(f"{prefix} Budget 2027") and normalize_subject(f"{prefix} Budget 2027") == "budget 2027"


@pytest.mark.parametrize(
    "prefix",
    ["VL:", "Videresend:", "İLT:", "Redir.:", "ΠΡΘ:", "Προώθ:", "Пересл:", "Továbbítás:", "TOV:", "转发:", "転送:"]
    + ["전달:", "העבר:", "Chuyển tiếp:", "TRS:", "Pārs.:"],  # Korean, Hebrew, Vietnamese, Indonesian, Latvian
)
def test_forward_prefixes_of_more_languages_are_stripped_but_are_no_reply(prefix: str) -> None:
    assert normalize_subject(f"{prefix} Budget 2027") == "budget 2027" and not is_reply_subject(f"{prefix} x")
    assert is_forward_subject(f"{prefix} Budget 2027")


@pytest.mark.parametrize(
    "subject",
    [
        "Re: {Spam?} Budget 2027",  # MailScanner
        "***SPAM*** Re: Budget 2027",  # amavisd-new
        "#External: Re: Budget 2027",
        "Re: #External: Budget 2027",
        "*EXT* Re: Budget 2027",
        "RE: *EXT* Budget 2027",
        "EXT: Re: Budget 2027",
        "[EXTERNAL] RE: Budget 2027",
    ],
)
def test_a_mail_filters_tag_before_or_after_re_is_no_part_of_the_subject(subject: str) -> None:
    """A reply with no reply headers joins its thread by subject; the tag a filter or a tenant's rule
    put in made it a thread of its own."""
    assert normalize_subject(subject) == "budget 2027" and is_reply_subject(subject)


def test_a_subject_of_many_tags_is_read_in_linear_time() -> None:
    """Spaces both before and after a tag made the tags' repetition match each run of spaces two
    ways: "ext:  " twenty times over took minutes (a subject anyone can send). A guard against
    that blow-up, not a speed target: each call takes microseconds."""
    start = time.perf_counter()
    for unit in ("ext:  ", "*ab*  ", "[x]  ", "{a}  ", "#spam: ", "re: ", "ext:*ab*[x] "):
        subject = unit * 60 + "x"
        is_reply_subject(subject)
        normalize_subject(subject)
    assert time.perf_counter() - start < 5.0


def test_words_that_start_like_a_prefix_are_kept() -> None:
    for subject in (
        "Rapid response",
        "Recalled units: Q3",
        "Real estate: Q3",
        "Iltapäivä: kahvi",
        "Information: Q3",
        "Tovább: x",
        "Extension: x",
        "Atsiliepimai: x",
    ):
        assert normalize_subject(subject) == subject.casefold() and not is_reply_subject(subject)


def test_reply_chain_is_in_reply_to_then_references_newest_first() -> None:
    assert reply_chain("m", ["c"], ["a", "b", "c", "m"]) == ["c", "b", "a"]


def test_thread_index_names_each_ancestor_by_dropping_five_bytes() -> None:
    head, first, second = bytes(range(22)), b"\x01" * 5, b"\x02" * 5
    header = base64.b64encode(head + first + second).decode()
    own, ancestors = thread_index_keys(header[:20] + "\r\n " + header[20:])  # folded by the sender
    assert own == "<thread-index>" + (head + first + second).hex()
    assert ancestors == ["<thread-index>" + (head + first).hex(), "<thread-index>" + head.hex()]
    assert thread_index_keys(base64.b64encode(head).decode()) == ("<thread-index>" + head.hex(), [])


def test_a_thread_index_that_is_no_conversation_index_is_ignored() -> None:
    for header in (None, "", "not base64!", base64.b64encode(bytes(21)).decode(), base64.b64encode(bytes(25)).decode()):
        assert thread_index_keys(header) == (None, [])
    too_deep = base64.b64encode(bytes(22 + 5 * 81)).decode()
    assert thread_index_keys(too_deep) == (None, [])
    deepest = thread_index_keys(base64.b64encode(bytes(22 + 5 * 80)).decode())[0]
    assert deepest is not None and len(deepest) < 998  # fits the store's id column


def test_web_form_in_reply_to_without_brackets_is_a_parent() -> None:
    from gateway.parse import parse
    from tests.helpers import make_mail

    msg = parse(make_mail(message_id="x@y", in_reply_to="parent-123@forms.example.com"))
    assert msg.in_reply_to == ["parent-123@forms.example.com"]


@pytest.mark.parametrize(
    ("value", "parent"),
    [
        # exmh and MH: the first bracketed token is the sender's address, which joined every reply to
        # that person, in any thread, as one thread; the message's id comes last
        (
            'Message from Doug Lee <doug@example.org> of "Mon, 02 Mar 2026 09:12:00 +0100." <1234.99@host.example.org>',
            "1234.99@host.example.org",
        ),
        ("<grandparent@example.org> <parent@example.org>", "parent@example.org"),  # two ids: the parent last
        ('<parent@example.org> (Bo Berg\'s message of "Mon, 2 Mar 2026" <bo@example.org>)', "parent@example.org"),
        ("<parent@example.org>", "parent@example.org"),
    ],
)
def test_in_reply_to_names_the_parent_last(value: str, parent: str) -> None:
    from gateway.parse import parse
    from tests.helpers import make_mail

    assert parse(make_mail(message_id="x@y", in_reply_to=value)).in_reply_to == [parent]


def test_siblings_of_a_missing_parent_share_a_thread() -> None:
    known = {"missing@x": Known("missing@x", 7, received=False)}
    spot = place(
        message_id="b@x",
        chain=["missing@x"],
        known=known,
        subject="Re: a",
        date=NOW,
        subject_thread=None,
        window=WINDOW,
    )
    assert (spot.thread_id, spot.parent_message_id) == (7, None)  # together, parent unknown yet


def test_message_linking_two_threads_merges_them_into_the_oldest() -> None:
    known = {"a@x": Known("a@x", 9, True), "b@x": Known("b@x", 4, True)}
    spot = place(
        message_id="c@x",
        chain=["a@x", "b@x"],
        known=known,
        subject="Re: a",
        date=NOW,
        subject_thread=None,
        window=WINDOW,
    )
    assert (spot.thread_id, spot.merge, spot.parent_message_id) == (4, (9,), "a@x")


def test_re_subject_without_headers_joins_only_within_window() -> None:
    recent = SubjectThread(3, NOW - timedelta(days=2))
    old = SubjectThread(3, NOW - timedelta(days=45))
    joined = place(
        message_id="r@x", chain=[], known={}, subject="Re: Plan", date=NOW, subject_thread=recent, window=WINDOW
    )
    alone = place(message_id="r@x", chain=[], known={}, subject="Re: Plan", date=NOW, subject_thread=old, window=WINDOW)
    not_reply = place(
        message_id="r@x", chain=[], known={}, subject="Plan", date=NOW, subject_thread=recent, window=WINDOW
    )
    assert (joined.thread_id, joined.by_subject) == (3, True)
    assert alone.thread_id is None and not_reply.thread_id is None


def test_parent_that_would_close_a_cycle_is_dropped() -> None:
    # b@x arrived first claiming a@x as parent; now a@x claims b@x as its parent
    known = {"a@x": Known("a@x", 5, False), "b@x": Known("b@x", 5, True)}
    spot = place(
        message_id="a@x",
        chain=["b@x"],
        known=known,
        subject="x",
        date=NOW,
        subject_thread=None,
        window=WINDOW,
        parent_of={"b@x": "a@x"},
    )
    assert spot.thread_id == 5 and spot.parent_message_id is None


def test_parent_is_nearest_received_and_early_replies_are_adopted() -> None:
    known = {"root@x": Known("root@x", 2, True), "mid@x": Known("mid@x", 2, False)}
    spot = place(
        message_id="leaf@x",
        chain=["mid@x", "root@x"],
        known=known,
        subject="Re: x",
        date=NOW,
        subject_thread=None,
        window=WINDOW,
    )
    assert spot.parent_message_id == "root@x"  # mid@x not received yet
    children = [Child("leaf@x", ("mid@x", "root@x"), "root@x"), Child("other@x", ("root@x",), "root@x")]
    assert adopt("mid@x", "root@x", children) == {"leaf@x": "mid@x"}


def test_adoption_never_makes_a_cycle() -> None:
    # a@x says its parent is b@x; b@x arrives saying its parent is a@x
    children = [Child("a@x", ("b@x",), None)]
    assert adopt("b@x", "a@x", children) == {}


def _grouping(store: Store) -> dict[str, tuple[str | None, frozenset[str]]]:
    """message id → (parent id, ids of its whole thread)."""
    with store.read() as session:
        rows = session.execute(sa.select(Entry.message_id, Entry.parent_message_id, Entry.thread_id)).all()
    members: dict[int, set[str]] = {}
    for mid, _, tid in rows:
        members.setdefault(tid, set()).add(mid)
    return {mid: (parent, frozenset(members[tid])) for mid, parent, tid in rows}


def test_notmuch_corpus_threads_match_expected_exactly(settings: Settings, store: Store) -> None:
    corpus = corpus_dir() / "notmuch-default"
    expected = json.loads((corpus / "expected" / "threads.json").read_text())
    feed_id = add_feed(store)
    archive = open_archive(corpus / "maildir")
    summary = import_archive(store=store, settings=settings, feed_id=feed_id, messages=archive.messages)
    assert summary.read == archive.total == 53
    assert summary.counts["posted"] == expected["message_count"] == 52
    assert summary.counts["duplicate"] == 1
    want = {}
    for t in expected["threads"]:
        ids = frozenset(m["message_id"] for m in t["messages"])
        for m in t["messages"]:
            want[m["message_id"]] = (m["parent"], ids)
    got = _grouping(store)
    assert got == want
    with store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Thread)) == expected["thread_count"]
        roots = set(session.scalars(sa.select(Entry.message_id).join(Thread, Thread.post_entry_id == Entry.id)))
    assert roots == {t["messages"][0]["message_id"] for t in expected["threads"]}


def test_reprocess_all_gives_same_ids_and_threads(settings: Settings, store: Store) -> None:
    corpus = corpus_dir() / "notmuch-default"
    feed_id = add_feed(store)
    archive = open_archive(corpus / "maildir")
    import_archive(store=store, settings=settings, feed_id=feed_id, messages=archive.messages)

    def snapshot() -> tuple[list[tuple], list[tuple]]:  # type: ignore[type-arg]
        with store.read() as session:
            entries = session.execute(
                sa.select(Entry.id, Entry.thread_id, Entry.message_id, Entry.parent_message_id, Entry.text).order_by(
                    Entry.id
                )
            ).all()
            threads = session.execute(
                sa.select(Thread.id, Thread.post_entry_id, Thread.entry_count, Thread.last_activity_at).order_by(
                    Thread.id
                )
            ).all()
        return [tuple(r) for r in entries], [tuple(r) for r in threads]

    before = snapshot()
    # the duplicate file has the same bytes: stored once, so 52 raw rows
    assert requeue(store=store, which="all") == 52
    counts = process_pending(store=store, settings=settings)
    assert counts == {"posted": 52}
    assert snapshot() == before


def _tricky_batch() -> list[bytes]:
    """Mail whose placing reads what earlier messages of the same batch wrote."""
    from email.message import EmailMessage

    from tests.helpers import make_mail
    from tests.test_pipeline import APPLE_FORWARD, GMAIL_FORWARD

    def with_file(mid: str, minutes: int) -> bytes:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = (
            "Eve <eve@example.com>",
            "team@example.com",
            "Minutes",
            f"<{mid}>",
        )
        msg.set_content("Minutes attached.\n")
        msg.add_attachment(b"%PDF-1.4 same bytes in both", maintype="application", subtype="pdf", filename="m.pdf")
        return msg.as_bytes()

    return [
        make_mail(message_id="a@x", subject="Plan"),
        make_mail(message_id="c@x", subject="Re: Plan", in_reply_to="<b@x>", references="<a@x> <b@x>", minutes=3),
        make_mail(message_id="b@x", subject="Re: Plan", in_reply_to="<a@x>", references="<a@x>", minutes=2),
        make_mail(message_id="d@x", subject="Re: Plan", minutes=4),  # no reply headers: joins by subject
        make_mail(message_id="x@x", subject="Other", minutes=5),
        make_mail(message_id="y@x", subject="Re: Lost", references="<z@x>", minutes=6),
        make_mail(message_id="w@x", subject="Re: Other", references="<x@x> <z@x>", minutes=7),  # merges two threads
        make_mail(message_id="a@x", subject="Plan", body="other bytes, same id\n"),  # a copy: its Date, other bytes
        GMAIL_FORWARD.format(mid="fwd-otto@example.com", note="Heads up.").encode(),
        APPLE_FORWARD.encode(),  # the same original again: one post, two forwarders
        with_file("f1@x", 9),
        with_file("f2@x", 10),
        make_mail(message_id="p@x", subject="Loop", in_reply_to="<q@x>", minutes=11),
        make_mail(message_id="q@x", subject="Re: Loop", in_reply_to="<p@x>", minutes=12),  # would close a cycle
        make_mail(message_id="r@x", subject="Re: Plan", in_reply_to="<d@x>", minutes=13),
    ]


def _second_wave() -> list[bytes]:
    """Mail naming what the first wave left in the store, for a batch that starts on it."""
    from tests.helpers import make_mail

    return [
        make_mail(message_id="s1@x", subject="Re: Plan", in_reply_to="<a@x>", minutes=20),
        make_mail(message_id="s2@x", subject="Re: Plan", in_reply_to="<s1@x>", minutes=21),  # waits in the batch
        make_mail(message_id="s3@x", subject="Re: Lost", references="<z@x>", minutes=22),  # only referenced so far
        make_mail(message_id="b@x", subject="Re: Plan", body="b again\n", minutes=2),  # a copy: its Date, other bytes
        make_mail(message_id="s5@x", subject="Budget", minutes=24),
        make_mail(message_id="s6@x", subject="Re: Budget", references="<s5@x> <a@x>", minutes=25),  # merges
        make_mail(message_id="s7@x", subject="Re: Other", in_reply_to="<x@x>", minutes=26),
        make_mail(message_id="s8@x", subject="Re: Budget", minutes=27),  # by subject, after the merge
        make_mail(message_id="s9@x", subject="Re: Budget", in_reply_to="<s5@x>", minutes=28),  # written by then
    ]


def test_one_batch_places_as_one_message_at_a_time(settings: Settings, store: Store) -> None:
    """Placing keeps a batch's rows back until something reads them, and asks the store about a
    batch's ids once; the result is the same as committing every message on its own."""
    from gateway.pipeline import deliver
    from gateway.store.models import Attachment, ForwardRecord, MessageRef, RawMessage

    feed_id = add_feed(store)
    for data in _tricky_batch() + _second_wave():
        deliver(store=store, data=data, feed_ids=[feed_id], source="import", max_bytes=settings.max_message_bytes)

    def snapshot() -> dict[str, list[tuple]]:  # type: ignore[type-arg]
        tables = {
            "entries": sa.select(
                Entry.id,
                Entry.thread_id,
                Entry.message_id,
                Entry.parent_message_id,
                Entry.text,
                Entry.forwarded_by_address,
            ).order_by(Entry.id),
            "threads": sa.select(
                Thread.id,
                Thread.post_entry_id,
                Thread.entry_count,
                Thread.subject,
                Thread.created_at,
                Thread.last_activity_at,
            ).order_by(Thread.id),
            "refs": sa.select(MessageRef.message_id, MessageRef.thread_id, MessageRef.entry_id).order_by(
                MessageRef.message_id
            ),
            "files": sa.select(Attachment.entry_id, Attachment.position, Attachment.sha256).order_by(
                Attachment.entry_id
            ),
            "forwards": sa.select(ForwardRecord.entry_id, ForwardRecord.raw_id, ForwardRecord.by_address).order_by(
                ForwardRecord.raw_id
            ),
            "raw": sa.select(RawMessage.id, RawMessage.status, RawMessage.reason).order_by(RawMessage.id),
        }
        with store.read() as session:
            return {name: [tuple(r) for r in session.execute(q)] for name, q in tables.items()}

    together = process_pending(store=store, settings=settings, batch=64)
    batched = snapshot()
    assert requeue(store=store, which="all") == 24
    alone = process_pending(store=store, settings=settings, batch=1)
    assert alone == together == {"posted": 21, "duplicate": 3}
    assert snapshot() == batched
    # in batches of 15: the second starts on the first's rows in the store
    assert requeue(store=store, which="all") == 24
    assert process_pending(store=store, settings=settings, batch=15) == together
    assert snapshot() == batched
    threads = {r[2]: r[1] for r in batched["entries"]}
    assert threads["a@x"] == threads["b@x"] == threads["c@x"] == threads["d@x"] == threads["r@x"]
    assert threads["x@x"] == threads["y@x"] == threads["w@x"] == threads["s3@x"] == threads["s7@x"]
    assert threads["p@x"] == threads["q@x"]
    assert threads["a@x"] == threads["s1@x"] == threads["s2@x"] == threads["s5@x"] == threads["s6@x"] == threads["s9@x"]
    # "Budget" was merged into "Plan", so no thread has that subject for s8@x to join
    assert list(threads.values()).count(threads["s8@x"]) == 1
    parents = {r[2]: r[3] for r in batched["entries"]}
    assert parents["c@x"] == "b@x" and parents["b@x"] == "a@x" and parents["r@x"] == "d@x"
    assert parents["s2@x"] == "s1@x" and parents["s6@x"] == "a@x" and parents["s7@x"] == "x@x"
    assert parents["s9@x"] == "s5@x"
    assert len(batched["files"]) == 2 and batched["files"][0][2] == batched["files"][1][2]
    members = Counter(r[1] for r in batched["entries"])
    assert {r[0]: r[2] for r in batched["threads"]} == members  # every thread counts every entry in it
    ids = {r[0]: r[2] for r in batched["entries"]}
    posts = sorted(ids[r[1]] for r in batched["threads"])
    assert posts == ["a@x", "f1@x", "f2@x", "fwd-otto@example.com", "p@x", "s8@x", "x@x"]
    assert len(batched["forwards"]) == 2 and len({r[0] for r in batched["forwards"]}) == 1  # one post


def test_a_post_placed_after_its_reply_by_a_retry_is_placed_after_it_again_by_a_rebuild(
    settings: Settings, store: Store
) -> None:
    """A retry places a post after its reply; `reprocess --all` places them in that order again
    (`raw_message.seq`), so entries, parents and the thread's id (its first entry's) stay the same."""
    from fastapi.testclient import TestClient

    from gateway.web.app import create_app

    feed_id = add_feed(store)
    ids = [
        deliver(
            store=store,
            data=m,
            feed_ids=[feed_id],
            source="smtp",
            envelope_from="ann@example.com",
            max_bytes=settings.max_message_bytes,
        )[0]
        for m in (
            make_mail(message_id="post@x", subject="Plan"),
            make_mail(message_id="reply@x", subject="Re: Plan", in_reply_to="<post@x>", minutes=5),
        )
    ]
    with store.write() as session, session.begin():  # the post failed a step (its DNS, say): kept back
        session.execute(
            sa.update(RawMessage)
            .where(RawMessage.id == ids[0])
            .values(status="quarantined", reason="authenticate: DNS could not answer")
        )
    process_pending(store=store, settings=settings)  # the reply starts a thread of its own
    assert requeue(store=store, which="quarantined") == 1
    process_pending(store=store, settings=settings)  # the post joins it, as its root

    def snapshot() -> tuple[list[tuple], list[tuple]]:  # type: ignore[type-arg]
        with store.read() as session:
            entries = session.execute(
                sa.select(Entry.id, Entry.message_id, Entry.parent_message_id).order_by(Entry.id)
            ).all()
            threads = session.execute(sa.select(Thread.id, Thread.post_entry_id, Thread.entry_count)).all()
        return [tuple(r) for r in entries], [tuple(r) for r in threads]

    live = snapshot()
    assert live == ([(ids[0], "post@x", None), (ids[1], "reply@x", "post@x")], [(ids[1], ids[0], 2)])
    for _ in range(2):  # and a rebuild of the rebuild
        assert requeue(store=store, which="all") == 2
        process_pending(store=store, settings=settings)
        assert snapshot() == live
    page = TestClient(create_app(settings, store)).get(f"/t/{ids[1]}", follow_redirects=False)
    assert page.status_code == 200 and "Plan" in page.text
