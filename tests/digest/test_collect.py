"""Choosing a reader's digest items out of a feed's new entries (`collect.select`) and when one is due: pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.digest.collect import NewEntry, select

T0 = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)


def _comment(entry_id: int, snippet: str, minutes: int, author: str = "Bob") -> NewEntry:
    return NewEntry(
        id=entry_id,
        thread_id=1,
        is_post=False,
        author_name=author,
        author_address=f"{author.lower()}@example.com",
        snippet=snippet,
        date=T0 + timedelta(minutes=minutes),
        subject="Plan",
        has_attachments=False,
    )


def test_the_latest_snippet_is_the_newest_comment_not_the_last_posted() -> None:
    """A comment deferred for DNS and posted an hour late comes last in posting order; the thread's
    latest word is still the newest comment."""
    entries = [_comment(2, "Agreed, Friday it is.", 30), _comment(3, "Could we move it?", 5, "Cat")]
    [item] = select(entries, reader="ann@example.com", muted=set(), only=None).items
    assert item.snippet == "Agreed, Friday it is."
    assert (item.comments, item.who, item.last_activity) == (2, ["Bob", "Cat"], T0 + timedelta(minutes=30))


def test_comments_of_one_moment_keep_the_last_posted_as_latest() -> None:
    entries = [_comment(2, "first", 10), _comment(3, "second", 10)]
    [item] = select(entries, reader="ann@example.com", muted=set(), only=None).items
    assert item.snippet == "second"


def test_threads_with_comments_of_one_moment_come_newest_thread_first() -> None:
    """As the web lists them (last activity, then thread id, both descending); they came in posting order."""
    entries = [
        NewEntry(i, thread, False, "Bob", "bob@example.com", "ok", T0, f"T{thread}", False)
        for i, thread in enumerate((3, 7, 5))
    ]
    items = select(entries, reader="ann@example.com", muted=set(), only=None).items
    assert [i.thread_id for i in items] == [7, 5, 3]


def test_a_time_an_older_subscribe_kept_as_given_is_still_scheduled() -> None:
    """`subscribe --at 8:5` was kept as typed before --at took two-digit minutes; such a row still falls due."""
    from gateway.digest.schedule import latest_due

    due = latest_due(every="daily", weekday=0, at="8:5", tz="UTC", now=T0)
    assert due is not None and due.due_at == datetime(2026, 3, 27, 8, 5, tzinfo=UTC)
