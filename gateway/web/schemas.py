"""The JSON API's shapes, as DESIGN.md fixes them; FastAPI publishes them in /openapi.json."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, PlainSerializer, WithJsonSchema

# ISO 8601 with an explicit offset ("+00:00", never "Z"), as DESIGN.md promises.
Time = Annotated[
    datetime,
    PlainSerializer(lambda d: d.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


# Ids are 32-bit integers in the database (PostgreSQL `integer`); larger ones cannot exist.
Id = Annotated[int, Path(ge=0, le=2**31 - 1)]


class Person(BaseModel):
    name: str
    address: str


class FeedOut(BaseModel):
    slug: str
    address: str
    title: str
    thread_count: int


class ThreadOut(BaseModel):
    id: int
    subject: str
    author: Person
    created_at: Time
    last_activity_at: Time
    comment_count: int
    snippet: str


class ThreadPage(BaseModel):
    threads: list[ThreadOut]
    next_cursor: str | None


class AttachmentOut(BaseModel):
    filename: str
    content_type: str
    size: int
    url: str


class ForwardOut(BaseModel):
    by: Person
    date: Time | None
    note: str


class EntryOut(BaseModel):
    id: int
    message_id: str
    parent_message_id: str | None
    author: Person
    date: Time
    text: str
    quoted_text: str
    signature: str
    html: str | None
    attachments: list[AttachmentOut]
    forwarded_by: Person | None
    forwards: list[ForwardOut]


class ThreadDetailOut(BaseModel):
    id: int
    feed: str
    subject: str
    post: EntryOut
    comments: list[EntryOut]


class SearchHit(BaseModel):
    thread_id: int
    entry_id: int
    subject: str
    snippet: str
    url: str


class SearchOut(BaseModel):
    results: list[SearchHit]


class Health(BaseModel):
    status: str


class Problem(BaseModel):
    detail: str
