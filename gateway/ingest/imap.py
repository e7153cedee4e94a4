"""IMAP sources: a mailbox that already exists, read into a feed (one pass; following is imap_follow.py).

A pass connects, selects the folder, compares its UIDVALIDITY with the
source's cursor, and fetches every UID above the cursor with `BODY.PEEK[]`
(which leaves `\\Seen` alone) in batches of BATCH. Each batch's raw bytes and
the new cursor are committed in one transaction, so the cursor never runs
ahead of the mail and a pass cut short resumes where it stopped. Parsing and
threading are the processor's, as for SMTP. After the commit, the source's
`after` action runs on the batch: `none` (default: the folder is opened
read-only), `seen` (flag `\\Seen`) or `move:FOLDER`; a pass first re-runs it on
anything at or below the cursor that an interrupted pass left behind.

A message over the limits (MAX_MESSAGE_BYTES by its RFC822.SIZE, without
downloading it; then `precheck`) is not stored and gets no after action: it
stays where it was, unread, for the mailbox's owner to see, as fetchmail
leaves an oversized message on the server. The refusal is logged and noted
as the source's last error in the transaction that moves the cursor past it
(imap_refusals.refusal_note), so `mailfeed imap status` and /healthz show it.
The cursor does move past it. Instead each pass looks again at every refused
UID the source keeps (imap_refusals.Skipped), by a FETCH of its size: one
that is gone (its owner moved or deleted it) is dropped, one refused under
the same limits at the same size stays refused without being downloaded
again, and the others go through the limits again: one that passes now
(MAX_MESSAGE_BYTES was raised) is stored then. A UID passed over as
\\Deleted is looked at again too, and stored once the flag is taken back.

What the after action has not done yet at or below the cursor (it was
interrupted, or was `none` then) is done at the next pass; what is neither
refused nor passed over was committed, so it is flagged or moved without
being downloaded again.

A changed UIDVALIDITY (the folder was recreated) starts the cursor over: the
folder is read again, and nothing doubles, because the same bytes for a feed
are one raw row and the same Message-ID is one entry.

Every commit that moves the cursor also renews the source's lease
(imap_lease.py) in its transaction, and is rolled back if another instance
holds it: only the holder moves the cursor. `sync_once` takes the lease for
its pass and releases it after; a source another instance follows is skipped.

Connecting (URL, password, TLS rules) is imap_connect.py's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from imapclient import SEEN, IMAPClient
from imapclient.exceptions import IMAPClientError

from gateway.config import Settings
from gateway.ingest import imap_refusals as refusals
from gateway.ingest import imap_state as state
from gateway.ingest.drain import pending_of
from gateway.ingest.imap_connect import (
    TRANSIENT,
    ImapError,
    ImapURL,
    connected,
    describe,
    new_source,
    parse_after,
    parse_url,
    server_text,
)
from gateway.ingest.imap_fetch import fetch, leftovers, log_refused, still_there
from gateway.ingest.imap_lease import Claim, Lease, LeaseLost, instance_id
from gateway.ingest.imap_refusals import Refusal, Skipped, limits_key, uid_set
from gateway.store import writes
from gateway.store.db import Store

__all__ = [
    "BATCH",
    "TRANSIENT",
    "ImapError",
    "ImapURL",
    "PassReport",
    "apply_after",
    "connected",
    "describe",
    "new_source",
    "parse_after",
    "parse_url",
    "select",
    "sync_once",
    "sync_source",
]

log = logging.getLogger(__name__)

BATCH = 100


@dataclass
class PassReport:
    """What one pass over a source did."""

    source: state.Source
    uidvalidity: int = 0
    last_uid: int = 0
    found: int = 0  # UIDs above the cursor when the pass began
    stored: int = 0  # messages committed (new raw rows or bytes stored before)
    refused: int = 0  # new messages over the limits: logged, skipped, noted, left in the folder
    refusals: dict[int, Refusal] = field(default_factory=dict)  # every UID found refused (new or before) and why
    deleted: int = 0  # new messages flagged \\Deleted (someone deleted them; the EXPUNGE had not come): skipped
    deleted_uids: set[int] = field(default_factory=set)  # every UID passed over as \\Deleted (new or before)
    resync: bool = False
    # the raw rows this pass left pending, to count what became of them whoever processes them
    pending_ids: list[int] = field(default_factory=list)
    more: bool = False  # the server announced mail that came after SELECT: pass again before waiting
    error: str = ""
    seconds: float = 0.0  # connect to last commit
    held: Claim | None = None  # skipped, or stopped: another instance holds the source's lease

    @property
    def note(self) -> str:
        """The refusals as the source's last error ("" when none)."""
        return refusals.refusal_note(self.refusals, parse_url(self.source.url).folder)

    def skipped(self, limits: str) -> Skipped:
        """What the pass leaves at or below its cursor, as the source keeps it."""
        return Skipped(self.uidvalidity, limits, dict(self.refusals), set(self.deleted_uids))


Progress = Callable[[int, int], None]  # (messages just done, messages in this pass)


def select(client: IMAPClient, src: state.Source) -> int:
    """Select the source's folder (read-only unless an after action needs to write); return UIDVALIDITY."""
    folder = parse_url(src.url).folder
    try:
        info = client.select_folder(folder, readonly=src.after == "none")
    except IMAPClientError as exc:
        raise ImapError(f"cannot open folder {folder!r}: {server_text(exc)}", permanent=True) from None
    if src.after.startswith("move:") and not client.folder_exists(src.after[5:]):
        client.create_folder(src.after[5:])
    return int(info[b"UIDVALIDITY"])


def sync_source(
    client: IMAPClient,
    *,
    store: Store,
    settings: Settings,
    src: state.Source,
    lease: Lease,
    on_commit: Callable[[], None] = lambda: None,
    progress: Progress = lambda n, total: None,
    report: PassReport | None = None,
    batch: int = BATCH,
) -> PassReport:
    """One pass over a connected source: commit every message above the cursor, batch by batch.

    `report` (filled in as the pass goes) tells how far a pass got that raised.
    Raises LeaseLost, with the batch rolled back, when another instance holds the lease.
    """
    report = report or PassReport(src)
    uidvalidity = report.uidvalidity = select(client, src)
    limits = limits_key(settings)
    last, skipped, noted = _begin(store, src, lease, report, limits)
    report.last_uid = last
    if last:
        again, remembered = _to_look_at_again(client, src, last, skipped, noted, limits)
        for i in range(0, len(again), batch):
            chunk = again[i : i + batch]
            _retry(
                client,
                store=store,
                settings=settings,
                src=src,
                lease=lease,
                report=report,
                uids=chunk,
                known=remembered,
            )
            on_commit()
        if skipped is None or report.skipped(limits).to_json() != skipped.to_json():
            with store.write() as session, session.begin():
                lease.hold(session)
                refusals.save(session=session, source_id=src.id, skipped=report.skipped(limits))
    # "N:*" always matches the newest message, even when its UID is below N (RFC 3501 6.4.8).
    uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
    report.found = len(uids)
    progress(0, len(uids))
    for i in range(0, len(uids), batch):
        chunk = uids[i : i + batch]
        got = fetch(client, src, chunk, settings)
        log_refused(src, got.refused)
        report.deleted += len(got.deleted)
        report.deleted_uids |= got.deleted
        report.refused += len(got.refused)
        report.refusals.update(got.refused)
        with store.write() as session, session.begin():
            lease.hold(session)
            report.pending_ids += pending_of(session, writes.save_raw(session=session, items=got.items))
            state.advance_cursor(session=session, source_id=src.id, uidvalidity=uidvalidity, last_uid=chunk[-1])
            if got.refused or got.deleted:
                refusals.save(session=session, source_id=src.id, skipped=report.skipped(limits))
            if got.refused:  # with the cursor that passes them, or they would be known to the log alone
                state.note_error(session=session, source_id=src.id, error=report.note)
        report.stored += len(got.items)
        report.last_uid = chunk[-1]
        on_commit()
        apply_after(client, src, [u for u in chunk if u not in got.refused])
        progress(len(chunk), len(uids))
    report.more = _announced(client)
    return report


def _begin(
    store: Store, src: state.Source, lease: Lease, report: PassReport, limits: str
) -> tuple[int, Skipped | None, list[int]]:
    """The cursor's last UID (0: start over) and what the source keeps of the UIDs at or below it.

    Skipped is None when not known (kept from before the column): the UIDs the
    last error names come with it.
    """
    uidvalidity = report.uidvalidity
    with store.write() as session, session.begin():
        lease.hold(session)
        cursor = state.load_cursor(session=session, source_id=src.id)
        skipped = refusals.load(session=session, source_id=src.id)
        if cursor is not None and cursor[0] == uidvalidity:
            if skipped is None or skipped.uidvalidity != uidvalidity:
                return cursor[1], None, refusals.noted_uids(state.last_error(session=session, source_id=src.id))
            return cursor[1], skipped, []
        if cursor is not None:
            log.warning(
                "%s: UIDVALIDITY changed from %s to %s; reading the folder again", src.label, cursor[0], uidvalidity
            )
            report.resync = True
        state.reset_cursor(session=session, source_id=src.id, uidvalidity=uidvalidity)
        refusals.save(session=session, source_id=src.id, skipped=Skipped(uidvalidity, limits))
        return 0, Skipped(uidvalidity, limits), []


def _to_look_at_again(
    client: IMAPClient, src: state.Source, last: int, skipped: Skipped | None, noted: list[int], limits: str
) -> tuple[list[int], Mapping[int, Refusal]]:
    """UIDs at or below the cursor to take through the limits again, and the refusals not to download again.

    What the after action left and the source does not keep as skipped was
    committed: it gets the after action here, without being downloaded again.
    """
    if skipped is None:  # not known: every leftover through the limits, as before the source kept them
        return sorted(still_there(client, noted) | leftovers(client, src, last)), {}
    again = sorted(still_there(client, [u for u in (*skipped.refused, *skipped.deleted) if u <= last]))
    apply_after(client, src, sorted(leftovers(client, src, last) - skipped.refused.keys() - skipped.deleted))
    return again, skipped.refused if skipped.limits == limits else {}


def _announced(client: IMAPClient) -> bool:
    """Whether the server announced mail that came after SELECT (RFC 3501 7.3.1), forgetting what it said.

    A message that lands between SELECT and SEARCH is not in the SEARCH's
    answer; its EXISTS comes with that answer, and imaplib files it away. IDLE
    does not announce it again, so without another pass it would wait for the
    next message, or for the IDLE renewal half an hour later.
    """
    _, sizes = client._imap.response("EXISTS")  # every EXISTS since SELECT, the SELECT's own first
    _, gone = client._imap.response("EXPUNGE")  # an after action's moves and deletions
    return grew([int(n) for n in sizes if n is not None], sum(1 for g in gone if g is not None))


def grew(sizes: Sequence[int], expunged: int) -> bool:
    """Whether an EXISTS after SELECT's (`sizes[0]`) counts more messages than SELECT's less those expunged.

    A server may repeat an unchanged EXISTS unasked: that is no new mail, and
    passing again for it would never end.
    """
    return len(sizes) > 1 and max(sizes[1:]) > sizes[0] - expunged


def _retry(
    client: IMAPClient,
    *,
    store: Store,
    settings: Settings,
    src: state.Source,
    lease: Lease,
    report: PassReport,
    uids: Sequence[int],
    known: Mapping[int, Refusal],
) -> None:
    """Store what passes the limits now (stored before: the same row), and run the after action on it.

    `known`: refusals judged by the same limits, not downloaded again at the same size.
    """
    got = fetch(client, src, uids, settings, known)
    report.refusals.update(got.refused)
    report.deleted_uids |= got.deleted
    if got.items:
        with store.write() as session, session.begin():
            lease.hold(session)
            report.pending_ids += pending_of(session, writes.save_raw(session=session, items=got.items))
    if got.refused:
        log.info("%s: %s message(s) still refused and left in the folder: %s", src.label, len(got.refused), report.note)
    apply_after(client, src, [u for u in uids if u not in got.refused])


def apply_after(client: IMAPClient, src: state.Source, uids: Sequence[int]) -> None:
    """Flag or move committed messages as the source asks; `none` leaves them be."""
    if not uids or src.after == "none":
        return
    which = uid_set(uids)  # runs as ranges: a whole folder's UIDs stay a short command
    if src.after == "seen":
        client.add_flags(which, [SEEN], silent=True)
        return
    target = src.after[5:]
    if client.has_capability("MOVE"):
        client.move(which, target)
    else:
        client.copy(which, target)
        client.delete_messages(which, silent=True)
        client.uid_expunge(which) if client.has_capability("UIDPLUS") else client.expunge()


def sync_once(
    *,
    store: Store,
    settings: Settings,
    src: state.Source,
    on_commit: Callable[[], None] = lambda: None,
    progress: Progress = lambda n, total: None,
    batch: int = BATCH,
) -> PassReport:
    """Take the lease, connect, run one pass, record the outcome, release; errors end up in the report.

    A source whose lease another instance holds is not touched: `held` says
    who holds it and until when.
    """
    report = PassReport(src)
    lease = Lease(store, src.id, instance_id(), settings.imap_lease_seconds)
    claim = lease.take()
    if not claim.ok:
        report.held = claim
        log.info("%s: skipped, %s", src.label, claim)
        return report
    try:
        return _pass(
            store=store,
            settings=settings,
            src=src,
            lease=lease,
            on_commit=on_commit,
            progress=progress,
            batch=batch,
            report=report,
        )
    finally:
        lease.release()


def _pass(
    *,
    store: Store,
    settings: Settings,
    src: state.Source,
    lease: Lease,
    on_commit: Callable[[], None],
    progress: Progress,
    batch: int,
    report: PassReport,
) -> PassReport:
    started = time.perf_counter()
    try:
        with connected(src, ca_file=settings.imap_ca_file) as client:
            sync_source(
                client,
                store=store,
                settings=settings,
                src=src,
                lease=lease,
                on_commit=on_commit,
                progress=progress,
                report=report,
                batch=batch,
            )
            report.seconds = time.perf_counter() - started
    except LeaseLost as exc:  # a `serve` took the source over mid-pass (this pass outlived the lease)
        report.seconds = time.perf_counter() - started
        report.held = exc.claim or Claim(False, "", None)
        log.warning("%s: stopped, %s", src.label, exc)
        return report
    except (ImapError, *TRANSIENT) as exc:
        report.seconds = time.perf_counter() - started
        report.error = describe(exc)
        log.error("%s: %s", src.label, report.error)
        state.mark_error(store=store, source_id=src.id, error=report.error)
        return report
    state.mark_ok(store=store, source_id=src.id, note=report.note)
    return report
