"""The JSON API's shapes, as DESIGN.md fixes them; FastAPI publishes them in /openapi.json."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


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
    created_at: datetime
    last_activity_at: datetime
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
    date: datetime | None
    note: str


class EntryOut(BaseModel):
    id: int
    message_id: str
    parent_message_id: str | None
    author: Person
    date: datetime
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


class Health(BaseModel):
    status: str


class Problem(BaseModel):
    detail: str
