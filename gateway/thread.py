"""Step 7, place: decide where a message goes, as a post or as a comment.

Pure: the pipeline asks the store what it knows about the ids involved and
passes that in; `place` returns the decision and the store applies it.

Rules, in order (after JWZ and public-inbox):
1. The reply chain is In-Reply-To, then References from newest to oldest.
2. Every id the message names (its own and its chain) is looked up; each
   thread that knows one of them (received or only referenced) is joined,
   and when several do they are merged into the oldest, so siblings whose
   parent we never received, and replies that came before their parent,
   end up together.
3. A message that names nothing known and whose subject starts with a reply
   prefix joins the thread with the same normalised subject, if that thread
   was active within the subject window (Outlook and mobile clients send
   "Re:" with no reply headers).
4. The parent is the first id of the chain that we received (In-Reply-To,
   else the nearest reference); a parent that would close a cycle is
   skipped. When a message arrives that earlier replies named nearer than
   their parent so far, they are adopted by it (`adopt`).
5. A message with no In-Reply-To and no References but an Outlook
   Thread-Index (`thread_index_keys`) names its ancestors by that index
   instead; only those that came in count, so one whose ancestors all
   missed the feed still joins by subject (rule 3). An ancestor that comes
   later adopts the replies whose index names it nearer than their parent.
6. A calendar invitation's updates and cancellation name no chain either:
   a message that names nothing by rules 1 and 5 and schedules an event
   (`event_key`) is a comment on the first entry that scheduled it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_SUBJECT_KEY = 255

# Re: and its localised forms as mail clients write them (AW: German, SV: Nordic, VS: Finnish,
# R:/RIF:/Risp: Italian, RV: Spanish, Antw: Dutch, Odp: Polish, Vá: Hungarian, ΑΠ: Greek,
# Отв: Russian, Відп: Ukrainian, Odg: Croatian, Atb: Latvian, Ynt: Turkish, BLS: Indonesian,
# Chinese, 返信: Japanese, Arabic, Hebrew, Vietnamese, Thai) ...; and Outlook's "Recall:", the request to
# recall a message, which reaches an address outside the sender's Exchange as a plain message
_REPLIES = (
    r"re|aw|sv|vs|r|rif|risp|rv|antw|antwort|odp|res|ynt|vá|απ|σχετ|отв|ответ|відп|отг|odg|atb|ats|bls|balas|"
    r"回复|回覆|答复|رد|השב|תגובה|회신|답장|réf|trả\s+lời|ตอบกลับ|返信|recall"
)
# ... and Fwd: with its forms (WG: German, TR: French, I: Italian, VB: Swedish, Doorst: Dutch, PD: Polish,
# ENC: Portuguese, VL: Finnish, Videresend: Norwegian, İLT: Turkish, Redir.: Romanian, ΠΡΘ: Greek,
# Пересл: Russian, Továbbítás/TOV: Hungarian, Chinese, 転送: Japanese); forward.py and extract.py read them
# too. Either may end in a dot ("Odp.:", "Atb.:").
FORWARDS = (
    r"fwd?|wg|tr|rv|i|vb|doorst|pd|enc|vl|videresend|ilt|redir\.?|πρθ|προώθ|пересл|továbbítás|tov|转发|轉寄|転送|"
    r"전달|העבר|chuyển\s+tiếp|trs|pārs\.?"
)
# Tags lists and mail filters put before or after "Re:": "[team]", amavis's "***SPAM***", MailScanner's
# "{Spam?}", a tenant's "*EXT*", "#External:", "EXT:" (the shown subject loses only the first kind)
# (no leading space in any of them: the space between two tags is the repetition's own, one way only)
_TAGS = r"\[[^\]]{1,64}\]|\{[^}]{1,24}\}|\*{1,3}[a-z?]{2,12}\*{1,3}|#?(?:external|ext|spam)[:：]"
_PREFIX = re.compile(
    rf"^\s*(?:(?:{_REPLIES}|{FORWARDS})\.?(?:\s*\[\d+\]|\s*\(\d+\))?\s*[:：]|{_TAGS})\s*",
    re.IGNORECASE,
)
_REPLY_PREFIX = re.compile(
    rf"^\s*(?:(?:{_TAGS})\s*)*(?:{_REPLIES})\.?(?:\s*\[\d+\]|\s*\(\d+\))?\s*[:：]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Known:
    """What the store knows about one Message-ID in this feed."""

    message_id: str
    thread_id: int
    received: bool
    entry_message_id: str | None = None  # differs from message_id when the id is an alias of an entry

    @classmethod
    def of_ref(cls, message_id: str, thread_id: int, entry_id: int | None, entry_message_id: str | None) -> Known:
        """From a message_ref row and the Message-ID of the entry it stands for, if any."""
        alias_of = entry_message_id if entry_message_id != message_id else None
        return cls(message_id, thread_id, entry_id is not None, alias_of)


@dataclass(frozen=True)
class SubjectThread:
    """The latest thread in this feed with the message's normalised subject."""

    thread_id: int
    last_activity_at: datetime


@dataclass(frozen=True)
class Placement:
    """Where a message goes: an existing thread (None: start one), its parent, threads to merge in.

    `by_subject` means the message named no parent (it joined by subject or by a
    digest's reply link): it becomes a comment on the thread's post.
    """

    thread_id: int | None
    parent_message_id: str | None
    merge: tuple[int, ...] = ()
    by_subject: bool = False


def reply_chain(message_id: str, in_reply_to: list[str], references: list[str]) -> list[str]:
    """In-Reply-To, then References newest first; no repeats, never the message itself."""
    chain: dict[str, None] = {}
    for mid in [*in_reply_to, *reversed(references)]:
        if mid != message_id:
            chain.setdefault(mid, None)
    return list(chain)


# Outlook's Thread-Index: 22 bytes for the conversation's first message (a
# reserved byte, a 5-byte time, a 16-byte GUID), then 5 more for each reply,
# so a message's parent has its index without the last 5 bytes ([MS-OXOMSG]
# 2.2.1.3, PidTagConversationIndex).
INDEX_HEAD, INDEX_STEP = 22, 5
MAX_INDEX_DEPTH = 80  # replies deep; the key of the deepest stays under the store's id column
# "<" cannot stand in a Message-ID as parse reads them, so no sender can name a key as one
INDEX_KEY_PREFIX = "<thread-index>"


def thread_index_keys(header: str | None) -> tuple[str | None, list[str]]:
    """(this message's key, its ancestors' keys, nearest first) from a Thread-Index header.

    (None, []) when the header is missing or is not a conversation index.
    """
    if not header:
        return None, []
    try:
        index = base64.b64decode("".join(header.split()), validate=True)
    except (binascii.Error, ValueError):
        return None, []
    depth, rest = divmod(len(index) - INDEX_HEAD, INDEX_STEP)
    if depth < 0 or rest or depth > MAX_INDEX_DEPTH:
        return None, []
    ancestors = range(len(index) - INDEX_STEP, INDEX_HEAD - 1, -INDEX_STEP)
    return INDEX_KEY_PREFIX + index.hex(), [INDEX_KEY_PREFIX + index[:n].hex() for n in ancestors]


def event_key(uid: str) -> str | None:
    """The id that stands for a calendar event in a feed (its first entry's alias); None without a UID.

    Hashed: a UID is the organizer's software's choice of text, up to 1,000 characters.
    """
    if not uid:
        return None
    return f"{hashlib.sha256(uid.encode('utf-8', 'replace')).hexdigest()[:32]}@event.mailfeed.invalid"


def normalize_subject(subject: str) -> str:
    """The subject without reply/forward prefixes and [list] tags, case-folded.

    Prefixes are removed in a loop, not by recursion, and the loop is bounded
    by the subject's length.
    """
    key = subject = unicodedata.normalize("NFKC", subject)  # Japanese clients' full-width "Ｒｅ："
    for _ in range(len(subject) + 1):
        stripped = _PREFIX.sub("", key, count=1)
        if stripped == key:
            break
        key = stripped
    return " ".join(key.split()).casefold()[:MAX_SUBJECT_KEY]


def is_reply_subject(subject: str) -> bool:
    return bool(_REPLY_PREFIX.match(unicodedata.normalize("NFKC", subject[:300])))


@dataclass(frozen=True)
class Child:
    """An entry already in the thread: its id, reply chain and current parent."""

    message_id: str
    chain: tuple[str, ...]
    parent: str | None


def place(
    *,
    message_id: str,
    chain: list[str],
    known: dict[str, Known],
    subject: str,
    date: datetime,
    subject_thread: SubjectThread | None,
    window: timedelta,
    parent_of: dict[str, str | None] | None = None,
    reply_to_thread: int | None = None,
) -> Placement:
    """Decide thread and parent for one message (see the module docstring).

    `known` maps ids among the message's own and its chain to what the store
    knows; `parent_of` (child → parent within the joined thread) is needed
    only when the message's own id was already referenced, to refuse a cycle.
    """
    threads = sorted({k.thread_id for k in known.values()})
    received = {m for m, k in known.items() if k.received}
    parent = choose_parent(message_id, chain, received, parent_of or {})
    if parent is not None and known[parent].entry_message_id:
        parent = known[parent].entry_message_id
    if threads:
        return Placement(thread_id=threads[0], parent_message_id=parent, merge=tuple(threads[1:]))
    if reply_to_thread is not None:  # sent to a digest's reply link: a comment on that post
        return Placement(thread_id=reply_to_thread, parent_message_id=None, by_subject=True)
    if (
        not chain
        and subject_thread is not None
        and is_reply_subject(subject)
        and abs(date - subject_thread.last_activity_at) <= window
    ):
        return Placement(thread_id=subject_thread.thread_id, parent_message_id=None, by_subject=True)
    return Placement(thread_id=None, parent_message_id=parent)


def by_thread_index(
    reply_chain: list[str], index_key: str | None, index_chain: list[str], known: dict[str, Known]
) -> tuple[list[str], list[str], dict[str, Known]]:
    """(the chain to place by, ancestors to record as only referenced, what placing may know).

    A message without reply headers is placed by its Outlook Thread-Index: the
    nearest ancestor that came in is its parent. Ancestors that did not come in
    are recorded, so that each adopts it when it comes, but not used to place
    it: replies whose ancestors all missed the feed still join by subject.
    Another entry with this message's own index (a copy) says nothing of where it goes.
    """
    own = known.get(index_key) if index_key else None
    if own is not None and own.received:
        known = {m: k for m, k in known.items() if m != index_key}
    if reply_chain or not index_chain:
        return reply_chain, [], known
    chain = [k for k in index_chain if k in known and known[k].received]
    missing = [k for k in index_chain if k not in chain]
    return chain, missing, {m: k for m, k in known.items() if m not in missing}


def by_event(
    key: str | None, chain: list[str], known: dict[str, Known]
) -> tuple[list[str], dict[str, Known], str | None]:
    """(the chain to place by, what placing may know, the event key this entry is to hold).

    A message that names no chain and schedules a calendar event an earlier entry
    scheduled (an update, a cancellation) is placed under that entry; the first
    entry to schedule an event holds its key. The key says nothing of where a
    message with a chain of its own goes (an invitation re-sent inside a
    discussion): left in `known`, it would merge the two threads.
    """
    if key is None:
        return chain, known, None
    held = known.get(key)
    if held is None:
        return chain, known, key
    if not chain and held.received:
        return [key], known, None
    return chain, {m: k for m, k in known.items() if m != key}, None


def choose_parent(
    message_id: str, chain: list[str], received: set[str], parent_of: dict[str, str | None]
) -> str | None:
    """The first received id in the chain that does not make `message_id` its own ancestor."""
    for mid in chain:
        if mid in received and not _closes_cycle(message_id, mid, parent_of):
            return mid
    return None


def adopt(
    message_id: str,
    parent: str | None,
    children: list[Child],
    *,
    named: str | None = None,
    key_of: dict[str, str] | None = None,
) -> dict[str, str]:
    """Entries that name the newly arrived `message_id` nearer than their parent get it as parent.

    Returns child id → new parent. A reply that came before its parent
    points at the parent once the parent is here; no change makes a cycle.
    `named` is the id the chains call the message by when that is not its
    Message-ID (its Thread-Index key); `key_of` then gives the keys of the
    children's parents, so each child's current parent is found in its chain.
    """
    name, key_of = named or message_id, key_of or {}
    parent_of = {c.message_id: c.parent for c in children}
    parent_of[message_id] = parent
    changes: dict[str, str] = {}
    for c in children:
        if name not in c.chain or c.message_id == message_id:
            continue
        now = key_of.get(c.parent, c.parent) if c.parent else None
        current = c.chain.index(now) if now in c.chain else len(c.chain)
        if c.chain.index(name) < current and not _closes_cycle(c.message_id, message_id, parent_of):
            parent_of[c.message_id] = message_id
            changes[c.message_id] = message_id
    return changes


def _closes_cycle(message_id: str, parent: str, parent_of: dict[str, str | None]) -> bool:
    """True when walking up from `parent` reaches `message_id` (iteratively, bounded)."""
    seen = set()
    node: str | None = parent
    while node is not None and node not in seen:
        if node == message_id:
            return True
        seen.add(node)
        node = parent_of.get(node)
    return False
