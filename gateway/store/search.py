"""Full-text search over entries: index writes for the pipeline, queries for the web.

SQLite uses an FTS5 table (`entry_search`, rowid = entry id, porter stemming);
PostgreSQL a table with a weighted `tsvector` and a GIN index (English
configuration). Both index what an entry shows: subject, new text, author
name and address (and, for a forwarded post, every forwarder's: later
forwards of the same original add theirs), attachment names. The index is derived like every entry
row: written in the pipeline's commit, cleared by `clear_derived`, rebuilt by
`mailfeed reprocess --all`. The tables are created by migration 0003_web.

The thread is looked up through `entry` at query time, so merging threads
never leaves the index pointing at the wrong one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

MARK_START, MARK_END = "\x02", "\x03"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TERMS = re.compile(r'"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+")
MAX_BODY = 100_000  # a tsvector holds at most 1 MB; the start of a huge body is what people search


@dataclass(frozen=True)
class Hit:
    thread_id: int
    entry_id: int
    subject: str
    snippet: str  # MARK_START/MARK_END around the matched words; see `snippet_html`


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _clean(value: str) -> str:
    return _CONTROL.sub(" ", value)


def index_row(*, entry_id: int, subject: str, text: str, author: str, attachments: Sequence[str]) -> dict[str, object]:
    """What `insert_rows` stores for an entry (placing collects them per batch)."""
    return {
        "id": entry_id,
        "subject": _clean(subject),
        "body": _clean(text)[:MAX_BODY],
        "author": _clean(author),
        "attachments": _clean(" ".join(attachments)),
    }


def insert_rows(*, session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Index entries never indexed before, in one statement run over every row."""
    if not rows:
        return
    session.execute(_INSERT_PG if _is_pg(session) else _INSERT_SQLITE, list(rows))


def more_author_row(*, entry_id: int, author: str) -> dict[str, object]:
    """What `add_authors` adds to an indexed entry: one more forwarder's name and address."""
    return {"id": entry_id, "more": _clean(author)}


def add_authors(*, session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Add names to entries' author column (a later forwarder of a post), in one statement run over every row.

    An entry not indexed (deleted since) is left alone.
    """
    if rows:
        session.execute(_MORE_PG if _is_pg(session) else _MORE_SQLITE, list(rows))


_TSV = (
    "setweight(to_tsvector('english', {subject}), 'A') || setweight(to_tsvector('english', {author}), 'B')"
    " || setweight(to_tsvector('english', {attachments}), 'B')"
    " || setweight(to_tsvector('english', {body}), 'C')"
)
_MORE_PG = sa.text(
    "UPDATE entry_search SET author = author || ' ' || :more, tsv = "
    + _TSV.format(subject="subject", author="author || ' ' || :more", attachments="attachments", body="body")
    + " WHERE entry_id = :id"
)
_MORE_SQLITE = sa.text("UPDATE entry_search SET author = author || ' ' || :more WHERE rowid = :id")
_INSERT_PG = sa.text(
    "INSERT INTO entry_search (entry_id, subject, body, author, attachments, tsv) VALUES "
    "(:id, :subject, :body, :author, :attachments, "
    + _TSV.format(subject=":subject", author=":author", attachments=":attachments", body=":body")
    + ")"
)
_INSERT_SQLITE = sa.text(
    "INSERT INTO entry_search (rowid, subject, body, author, attachments) "
    "VALUES (:id, :subject, :body, :author, :attachments)"
)


def remove_entry(*, session: Session, entry_id: int) -> None:
    key = "entry_id" if _is_pg(session) else "rowid"
    session.execute(sa.text(f"DELETE FROM entry_search WHERE {key} = :id"), {"id": entry_id})


def clear_index(*, session: Session, feed_id: int | None = None) -> None:
    """Empty the index (all feeds, or one); call before the entries themselves go."""
    key = "entry_id" if _is_pg(session) else "rowid"
    if feed_id is None:
        session.execute(sa.text("DELETE FROM entry_search"))
    else:
        session.execute(
            sa.text(f"DELETE FROM entry_search WHERE {key} IN (SELECT id FROM entry WHERE feed_id = :f)"),
            {"f": feed_id},
        )


def fts5_query(q: str) -> str:
    """A user's words as a safe FTS5 query: every word must appear; "quoted phrases" kept.

    Never passes FTS5 syntax through, so no input can raise a syntax error.
    The last bare word also matches as a prefix (search as you type).
    """
    parts: list[str] = []
    last_bare = False
    for phrase, bare in _TERMS.findall(q):
        words = _WORD.findall(phrase or bare)
        if not words:
            continue
        if phrase:
            parts.append('"' + " ".join(words) + '"')
            last_bare = False
        else:
            parts.extend(f'"{w}"' for w in words)
            last_bare = True
    if parts and last_bare and not q.endswith(" "):
        parts[-1] += "*"
    return " ".join(parts)


_VISIBLE = "e.feed_id IN :feeds AND NOT EXISTS (SELECT 1 FROM moderation m WHERE m.entry_id = e.id)"
# a thread whose post is hidden is hidden as a whole (views.py, digest/collect.py)
_IN_SHOWN_THREAD = (
    " AND NOT EXISTS (SELECT 1 FROM thread t JOIN moderation m ON m.entry_id = t.post_entry_id"
    " WHERE t.id = e.thread_id)"
)


def search(
    *, session: Session, q: str, feed_ids: Collection[int], limit: int = 50, in_hidden_threads: bool = False
) -> list[Hit]:
    """Entries in `feed_ids` matching `q`, best first; moderated (hidden) entries left out.

    So are the entries of a thread whose post is hidden, unless `in_hidden_threads` (an
    admin, who sees that thread).
    """
    q = _clean(q)  # control characters (NUL above all: PostgreSQL refuses it) search for nothing
    if not feed_ids or not q.strip():
        return []
    where = _VISIBLE if in_hidden_threads else _VISIBLE + _IN_SHOWN_THREAD
    if _is_pg(session):
        match = q
        sql = (
            "SELECT e.thread_id, e.id, e.subject, ts_headline('english', s.body, query, "
            "'StartSel=\x02, StopSel=\x03, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \"') "
            "FROM entry_search s JOIN entry e ON e.id = s.entry_id, websearch_to_tsquery('english', :q) query "
            f"WHERE s.tsv @@ query AND {where} ORDER BY ts_rank(s.tsv, query) DESC, e.date DESC LIMIT :limit"
        )
    else:
        match = fts5_query(q)
        if not match:
            return []
        sql = (
            "SELECT e.thread_id, e.id, e.subject, snippet(entry_search, -1, char(2), char(3), '…', 24) "
            "FROM entry_search JOIN entry e ON e.id = entry_search.rowid "
            f"WHERE entry_search MATCH :q AND {where} "
            "ORDER BY bm25(entry_search, 8.0, 1.0, 4.0, 4.0), e.date DESC LIMIT :limit"
        )
    stmt = sa.text(sql).bindparams(sa.bindparam("feeds", expanding=True))
    rows = session.execute(stmt, {"q": match, "feeds": list(feed_ids), "limit": limit}).all()
    return [Hit(t, e, s, snip or "") for t, e, s, snip in rows]


def snippet_html(snippet: str) -> str:
    """The snippet as safe HTML, matched words in <mark>."""
    return html.escape(snippet).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def snippet_text(snippet: str) -> str:
    return snippet.replace(MARK_START, "").replace(MARK_END, "")
