"""IMAP sources: a batch of UIDs fetched and held to the limits, as SMTP holds a message at its door.

What imap.py's pass stores, and what it refuses: a message over
MAX_MESSAGE_BYTES by its RFC822.SIZE, not downloaded, or one `precheck`
refuses (MIME nesting, header count …, the settings' limits), downloaded once:
looked at again under the same limits and at the same size, it is refused
again as it was remembered (imap_refusals.py). Storing, the cursor and the
after action are the pass's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from imapclient import IMAPClient

from gateway.config import Settings
from gateway.ingest import imap_state as state
from gateway.ingest.imap_connect import parse_url
from gateway.ingest.imap_refusals import Refusal, uid_set
from gateway.limits import limits_of
from gateway.pipeline import Rejected, precheck
from gateway.store import writes

log = logging.getLogger(__name__)


@dataclass
class Fetched:
    """A batch as fetched: what to store, what the limits refused, which were flagged \\Deleted."""

    items: list[writes.NewRaw]
    refused: dict[int, Refusal]
    deleted: set[int]


def fetch(
    client: IMAPClient,
    src: state.Source,
    uids: Sequence[int],
    settings: Settings,
    remembered: Mapping[int, Refusal] | None = None,
) -> Fetched:
    """The batch's messages as raw rows to store, and those the limits refuse (not downloaded when too big).

    The limits are the settings' (MAX_MIME_DEPTH and the rest), as for SMTP.
    `remembered`: refusals under these same limits; one whose size is the
    same is refused again without downloading it.

    INTERNALDATE, when the server got the message, dates one without a readable Date. One
    flagged \\Deleted is one a reader of the mailbox deleted: it is not posted.
    """
    max_bytes, limits = settings.max_message_bytes, limits_of(settings)
    meta = client.fetch(uids, ["RFC822.SIZE", "INTERNALDATE", "FLAGS"])
    deleted = {u for u, v in meta.items() if b"\\Deleted" in v.get(b"FLAGS", ())}
    sizes = {u: int(v.get(b"RFC822.SIZE", 0)) for u, v in meta.items() if u not in deleted}
    received = {u: _received(meta[u]) for u in sizes}
    refused = {
        u: Refusal(n, f"552 5.3.4 Message too big: {n} bytes, this feed takes at most {max_bytes} bytes", received[u])
        for u, n in sizes.items()
        if n > max_bytes
    }
    for u, was in (remembered or {}).items():
        if u in sizes and u not in refused and was.size == sizes[u]:
            refused[u] = was
    wanted = [u for u in uids if u in sizes and u not in refused]
    bodies = client.fetch(wanted, ["BODY.PEEK[]"]) if wanted else {}
    user = parse_url(src.url).user
    items = []
    for uid in wanted:
        data = bodies.get(uid, {}).get(b"BODY[]")
        if data is None:
            continue  # expunged between SEARCH and FETCH
        try:
            precheck(data, max_bytes=max_bytes, limits=limits)
        except Rejected as exc:
            refused[uid] = Refusal(sizes[uid], exc.reply, received[uid])
            continue
        got = meta[uid].get(b"INTERNALDATE")
        delivered = got.astimezone(UTC) if isinstance(got, datetime) else None  # imapclient gives local time
        items.append(writes.NewRaw(src.feed_id, data, "imap", "", user, delivered_at=delivered))
    return Fetched(items, refused, deleted)


def _received(meta: Mapping[bytes, object]) -> str:
    got = meta.get(b"INTERNALDATE")
    return got.astimezone(UTC).isoformat(timespec="seconds") if isinstance(got, datetime) else ""


def log_refused(src: state.Source, refused: Mapping[int, Refusal]) -> None:
    """A warning for each message refused at its first fetch (looked at again, it is one line of the pass's)."""
    folder = parse_url(src.url).folder
    for uid, r in sorted(refused.items()):
        log.warning("%s: UID %s not stored: %s; left in %s", src.label, uid, r.reason, folder)


def still_there(client: IMAPClient, uids: Sequence[int]) -> set[int]:
    """Which of `uids` the folder still holds (one UID SEARCH)."""
    return set(client.search(["UID", uid_set(uids)])) if uids else set()


def leftovers(client: IMAPClient, src: state.Source, last: int) -> set[int]:
    """UIDs at or below the cursor the after action has not done yet (none for `none`).

    A leftover is a message an interrupted pass committed but left unflagged or
    unmoved (or the after action was `none` then), one the limits refused, or
    one passed over as \\Deleted.
    """
    if not last or src.after == "none":
        return set()
    found = client.search(["UID", f"1:{last}"] + (["UNSEEN"] if src.after == "seen" else []))
    return {u for u in found if u <= last}
