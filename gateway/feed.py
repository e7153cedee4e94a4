"""Atom (RFC 4287) and JSON Feed 1.1 serialisation: values in, bytes out (pure).

Ids are stable `urn:uuid:` values derived from the feed and Message-ID, so an
entry keeps its id through `mailfeed reprocess` and across hostnames.
Characters XML 1.0 forbids (mail has them: NUL, form feed, stray escapes) are
dropped, so a feed reader never sees a malformed document.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Enclosure:
    url: str
    content_type: str
    length: int
    title: str


@dataclass(frozen=True)
class Item:
    id: str
    url: str
    title: str
    author_name: str
    author_email: str
    published: datetime
    updated: datetime
    content_html: str
    summary: str = ""
    enclosures: Sequence[Enclosure] = field(default_factory=tuple)


@dataclass(frozen=True)
class FeedInfo:
    id: str
    title: str
    home_url: str
    self_url: str
    json_url: str = ""
    subtitle: str = ""


def stable_id(*parts: str) -> str:
    """A `urn:uuid:` that depends only on `parts` (feed slug, Message-ID…)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "mailfeed:" + "\x00".join(parts)).urn


def updated_of(items: Sequence[Item]) -> datetime:
    return max((i.updated for i in items), default=datetime(1970, 1, 1, tzinfo=UTC))


def _x(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def _a(value: str) -> str:
    return quoteattr(_NOT_XML.sub("", value))


def _t(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render_atom(info: FeedInfo, items: Sequence[Item]) -> bytes:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<id>{_x(info.id)}</id><title>{_x(info.title)}</title>",
        f"<updated>{_t(updated_of(items))}</updated>",
        f'<link rel="self" type="application/atom+xml" href={_a(info.self_url)}/>',
        f'<link rel="alternate" type="text/html" href={_a(info.home_url)}/>',
        '<generator uri="https://example.invalid/mailfeed">mailfeed</generator>',
    ]
    if info.subtitle:
        out.append(f"<subtitle>{_x(info.subtitle)}</subtitle>")
    for i in items:
        out.append(
            f"<entry><id>{_x(i.id)}</id><title>{_x(i.title)}</title>"
            f"<published>{_t(i.published)}</published><updated>{_t(i.updated)}</updated>"
            f"<author><name>{_x(i.author_name or i.author_email)}</name>"
            + (f"<email>{_x(i.author_email)}</email>" if "@" in i.author_email else "")
            + f'</author><link rel="alternate" type="text/html" href={_a(i.url)}/>'
        )
        for e in i.enclosures:
            out.append(
                f'<link rel="enclosure" href={_a(e.url)} type={_a(e.content_type)} length="{e.length}" '
                f"title={_a(e.title)}/>"
            )
        if i.summary:
            out.append(f"<summary>{_x(i.summary)}</summary>")
        out.append(f'<content type="html">{_x(i.content_html)}</content></entry>')
    out.append("</feed>\n")
    return "".join(out).encode("utf-8")


def render_json_feed(info: FeedInfo, items: Sequence[Item]) -> bytes:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": info.title,
        "home_page_url": info.home_url,
        "feed_url": info.json_url or info.self_url,
        "items": [
            {
                "id": i.id,
                "url": i.url,
                "title": i.title,
                "content_html": i.content_html,
                "summary": i.summary,
                "date_published": i.published.isoformat(),
                "date_modified": i.updated.isoformat(),
                "authors": [{"name": i.author_name or i.author_email}],
                "attachments": [
                    {"url": e.url, "mime_type": e.content_type, "title": e.title, "size_in_bytes": e.length}
                    for e in i.enclosures
                ],
            }
            for i in items
        ],
    }
    if info.subtitle:
        doc["description"] = info.subtitle
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")
