"""The JSON API's shapes, as DESIGN.md fixes them; FastAPI publishes them in /openapi.json."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field, PlainSerializer, WithJsonSchema

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
    verified: str = Field(
        "", description="What was verified of the sender (DMARC, DKIM, SPF and who checked), empty when nothing was"
    )


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


# A component's state: "off" when this instance does not run it, "unknown" when
# finding out needs the database and the database is down (see gateway/health.py).
ComponentStatus = Literal["ok", "degraded", "down", "off", "unknown"]


class DatabaseHealth(BaseModel):
    status: Literal["ok", "down"]
    backend: str  # sqlite | postgresql
    latency_ms: float | None = None
    error: str | None = None  # the exception's class name only: its text could name hosts


class SmtpHealth(BaseModel):
    status: ComponentStatus
    listening: str | None = None  # host:port


class ProcessorHealth(BaseModel):
    status: ComponentStatus
    alive: bool | None = None
    pending: int | None = None  # raw messages waiting, on every instance's database
    oldest_pending_seconds: float | None = None
    deferred: int | None = None  # the sender's DNS could not answer; tried again by itself
    quarantined: int | None = None  # kept back with a reason until an admin acts (`mailfeed quarantine list`)
    error: str | None = None  # why it is down: it keeps dying (ProcessorProcess.trouble)


class ImapSourceHealth(BaseModel):
    id: int
    feed: str
    label: str  # the URL holds no password
    state: Literal["ok", "error", "idle"]  # idle: no pass yet
    last_ok_at: Time | None
    last_error: str
    last_error_at: Time | None
    lease_holder: str | None = None  # the instance following it, where sources are leased


class ImapHealth(BaseModel):
    status: ComponentStatus
    sources: list[ImapSourceHealth] = []


class DigestHealth(BaseModel):
    status: ComponentStatus
    scheduler: Literal["running", "stopped", "off"] | None = None
    last_run_at: Time | None = None  # the latest digest claimed, by any instance
    stuck_claims: int | None = None  # claimed and not sent past the lease


class DiskHealth(BaseModel):
    status: ComponentStatus
    free_bytes: int
    min_free_bytes: int


class Components(BaseModel):
    database: DatabaseHealth
    smtp: SmtpHealth
    processor: ProcessorHealth
    imap: ImapHealth
    digests: DigestHealth
    disk: DiskHealth


class Health(BaseModel):
    """GET /healthz: "down" (with 503) when the database is unreachable, "degraded" when a part is."""

    status: Literal["ok", "degraded", "down"]
    components: Components


class Problem(BaseModel):
    detail: str
