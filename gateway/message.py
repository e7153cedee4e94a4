"""Plain data that travels along the pipeline: no I/O, no behaviour.

`ParsedMessage` is what `parse` makes of raw bytes; the later steps (classify,
unwrap, extract, place) read it and return values of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Address:
    """A mailbox: display name (may be empty) and address (lower-cased domain)."""

    name: str
    address: str


@dataclass(frozen=True)
class Attachment:
    """A non-body MIME part: decoded bytes and what the sender called it."""

    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    inline: bool = False


# The file an OpenPGP-encrypted message is: PGP/MIME names its encrypted part so, and parse
# gives inline-encrypted text the same name; the web says such an entry is encrypted.
PGP_ENCRYPTED_FILE = "encrypted.asc"


@dataclass
class ParsedMessage:
    """What mailfeed needs from one message, decoded and normalised.

    Message-IDs come without angle brackets, case kept as sent. `text` is the
    text/plain body, or a text rendering of the HTML body when there is none.
    `embedded` holds the raw bytes of attached `message/rfc822` parts, for
    forward unwrapping. `headers` keeps only the headers later steps read,
    lower-cased names, decoded values.
    """

    message_id: str
    synthetic_id: bool = False
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    author: Address = Address("", "")
    to: list[Address] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    embedded: list[bytes] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    auth_results: list[str] = field(default_factory=list)  # every Authentication-Results value, top first
    defects: list[str] = field(default_factory=list)
    list_author: Address | None = None  # the author named by a list that rewrote From: ("Ann via Team")
    event_uid: str = ""  # the calendar event an invitation, update or cancellation schedules (parse_calendar)
    meeting: str = ""  # "When: …\nWhere: …" of a meeting only its calendar part says (parse_calendar)
    calendar_answer: bool = False  # an attendee's answer to an invitation: an iCalendar REPLY, or Outlook's in TNEF


@dataclass(frozen=True)
class ReplyParts:
    """A body split into what the author newly wrote, the quoted history, the signature.

    In an inline reply the quoted lines that answers interleave stay in `text`
    as `> ` lines; only trailing history goes to `quoted_text`.
    """

    text: str
    quoted_text: str = ""
    signature: str = ""


@dataclass(frozen=True)
class Forward:
    """One forward of a message: who forwarded it, when, and the note they wrote above it."""

    by: Address
    date: datetime | None
    note: str


@dataclass
class Unwrapped:
    """A forwarded message recovered from inside another one.

    `author`, `date`, `subject` and `text`/`html` are the original's; `forward`
    says who forwarded it. `message_id` is the original's when it is known
    (an attached message/rfc822 carries it; an inline forward usually does not).
    """

    author: Address
    date: datetime | None
    subject: str
    text: str
    html: str | None
    forward: Forward
    message_id: str | None = None
