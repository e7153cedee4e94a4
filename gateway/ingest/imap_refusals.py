"""What a source's passes left in its folder at or below the cursor, and how it is told (imap.py's memory).

A message the limits refuse stays in the folder unread, and each pass looks
at it again: a raised limit lets it in, and one its owner moved or deleted is
forgotten. Looking costs a FETCH of its RFC822.SIZE and flags, not a download:
`Skipped` (the source's `skipped` column, JSON) keeps each refused UID with
its size, its reason and when the server got it, and the limits it was judged
by (`limits_key`). The body is fetched again only when those limits changed,
or the size did (a UID's message never changes under one UIDVALIDITY, RFC
3501 2.3.1.1; the size is checked all the same).

It keeps the UIDs passed over as flagged \\Deleted too: one a reader takes
back (the flag removed) is stored then. What is in neither list and at or
below the cursor was committed, so a new after action flags or moves it
without downloading it again.

The column is written with the cursor, in the same transaction; NULL (a
source from before it) is "not known": that pass looks at what the last error
names and takes every leftover through the limits, as before.

The refusals are also told in the source's last error (`refusal_note`), short
enough for `mailfeed imap status` and /healthz; `mailfeed imap status
--refused` lists every one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from gateway import __version__
from gateway.config import Settings
from gateway.limits import limits_of
from gateway.store.models_imap import ImapSource


@dataclass(frozen=True)
class Refusal:
    """Why one message was not stored, and what identifies it to its owner."""

    size: int  # RFC822.SIZE
    reason: str  # the reply SMTP would give: "554 5.6.0 MIME nesting too deep …"
    received: str = ""  # INTERNALDATE, ISO 8601, "" if the server gave none


@dataclass
class Skipped:
    """The UIDs at or below the cursor that were not stored, under one UIDVALIDITY."""

    uidvalidity: int
    limits: str  # limits_key() of the settings the refusals were judged by
    refused: dict[int, Refusal] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)

    def to_json(self) -> str:
        reasons = sorted({r.reason for r in self.refused.values()})
        index = {reason: i for i, reason in enumerate(reasons)}
        rows = [[u, r.size, index[r.reason], r.received] for u, r in sorted(self.refused.items())]
        return json.dumps(
            {
                "v": self.uidvalidity,
                "limits": self.limits,
                "reasons": reasons,
                "refused": rows,
                "deleted": sorted(self.deleted),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | None) -> Skipped | None:
        """None when not known (NULL: from before the column) or not readable."""
        if not text:
            return None
        try:
            got = json.loads(text)
            reasons = got["reasons"]
            refused = {int(u): Refusal(int(n), str(reasons[i]), str(when)) for u, n, i, when in got["refused"]}
            return cls(int(got["v"]), str(got["limits"]), refused, {int(u) for u in got["deleted"]})
        except (ValueError, KeyError, TypeError, IndexError):
            return None


def limits_key(settings: Settings) -> str:
    """The limits a refusal depends on, as one string: when it changes, refused messages are judged again.

    The version is in it since a release may judge the same limits differently.
    """
    return f"{__version__};{settings.max_message_bytes};{limits_of(settings)}"


def load(*, session: Session, source_id: int) -> Skipped | None:
    c = ImapSource.__table__.c  # type: ignore[attr-defined]
    return Skipped.from_json(session.scalar(sa.select(c.skipped).where(c.id == source_id)))


def kept(*, session: Session) -> dict[int, Skipped]:
    """Every source's, by source id (those from before the column, not known yet, left out)."""
    c = ImapSource.__table__.c  # type: ignore[attr-defined]
    rows = session.execute(sa.select(c.id, c.skipped).order_by(c.id))
    return {i: got for i, text in rows if (got := Skipped.from_json(text)) is not None}


def save(*, session: Session, source_id: int, skipped: Skipped) -> None:
    """Write it in the caller's transaction (the one that moves the cursor, or resets it)."""
    c = ImapSource.__table__.c  # type: ignore[attr-defined]
    session.execute(sa.update(ImapSource.__table__).where(c.id == source_id).values(skipped=skipped.to_json()))  # type: ignore[attr-defined]


def uid_set(uids: Iterable[int]) -> str:
    """An IMAP sequence set for the UIDs, runs as ranges: "1:5,7,9:12" (short for thousands of UIDs)."""
    runs: list[list[int]] = []
    for u in sorted(set(uids)):
        if runs and u == runs[-1][1] + 1:
            runs[-1][1] = u
        else:
            runs.append([u, u])
    return ",".join(f"{a}:{b}" if a != b else str(a) for a, b in runs)


NOTED_UIDS = 10  # UIDs named per reason in the last error
NOTED_REASONS = 5  # reasons told in it; the rest are counted
LISTED = "`mailfeed imap status --refused` lists them"
# "UID 7 not stored", "UIDs 7, 9 and 3 more not stored" (before: "…, 9 not stored (nor 3 more)"):
# each ", " starts one more UID, so the group matches one way.
_NOTED = re.compile(r"\bUIDs? (\d{1,10}(?:, \d{1,10})*)(?: and \d{1,10} more)? not stored\b")


def refusal_note(refused: Mapping[int, Refusal], folder: str) -> str:
    """One line for the messages a pass refused, by reason: "UIDs 7, 9 not stored: 554 5.6.0 …; left in INBOX".

    Past NOTED_UIDS of one reason, or NOTED_REASONS reasons, the rest are
    counted, and the line says where every one is listed.
    """
    if not refused:
        return ""
    by_reason: dict[str, list[int]] = {}
    for uid in sorted(refused):
        by_reason.setdefault(refused[uid].reason, []).append(uid)
    parts = []
    for reason, uids in list(by_reason.items())[:NOTED_REASONS]:
        named = ", ".join(str(u) for u in uids[:NOTED_UIDS])
        more = f" and {len(uids) - NOTED_UIDS} more" if len(uids) > NOTED_UIDS else ""
        parts.append(f"UID{'s' if len(uids) > 1 else ''} {named}{more} not stored: {reason}")
    others = sum(len(uids) for uids in list(by_reason.values())[NOTED_REASONS:])
    if others:
        parts.append(f"{others} more not stored for {len(by_reason) - NOTED_REASONS} other reasons")
    listed = f" ({LISTED})" if others or any(len(u) > NOTED_UIDS for u in by_reason.values()) else ""
    return "; ".join(parts) + f"; left in {folder}{listed}"


def noted_uids(text: str) -> list[int]:
    """The UIDs a refusal note in `text` names (a source from before the `skipped` column has only these)."""
    return sorted({int(u) for m in _NOTED.finditer(text) for u in m.group(1).split(", ")})


def refusal_part(text: str) -> str:
    """The refusal note at the end of a last error, or ""."""
    found = _NOTED.search(text)
    return text[found.start() :] if found else ""
