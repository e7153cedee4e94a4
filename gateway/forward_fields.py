"""Unwrap step: the header block of a forwarded message, read for quotequail and for mailfeed.

quotequail reads English field names only: the block's labels in the languages mailfeed knows
become English (`english_fields`), and a body written right under the block gets the blank line
quotequail needs. Outlook for Mac forwards under its reply header in the user's language, which
quotequail reads in none but English: `attributed` reads it. `parse_address` turns a header value
into an Address as clients write it, and `with_date` finds a date quotequail missed.
"""

from __future__ import annotations

import re
import textwrap
from email.utils import getaddresses

from gateway import reply_patterns as P
from gateway.message import Address
from gateway.parse_headers import comma_named
from gateway.reply_headers import field_block, find_header, on_wrote_header
from gateway.thread import normalize_subject

# Outlook's header fields in the languages quotequail does not read, by the English name it does
_SPACES = re.compile(r"\s+")
_ENGLISH = {
    label.replace(" ", "").casefold(): name for name, labels in P.FIELD_LABELS.items() for label in labels.split("|")
}
_LABEL = re.compile(
    r"^([\s>]*\*?\s*)(" + P.labels_pattern(*P.FIELD_LABELS, english=False) + r")(\s*\*?\s*[:：])", re.IGNORECASE
)


def english_fields(text: str, subject: str = "") -> str:
    """The first header block's field names in English, for quotequail ("Da:" → "From:"), and a blank
    line under it where the body follows with none (the new Outlook's text: quotequail read the body's
    first line as the rest of the subject). `subject`, the message's own without its "FW:", tells a
    block's whole subject ("山田様" under it is the body) from one a renderer wrapped."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if P.FROM_FIELD.match(line[: P.LINE_MAX_CHARS]):
            end = field_block(lines, i)
            if end is None:
                continue
            start = i
            while start > 0 and P.OTHER_FIELD.match(lines[start - 1][: P.LINE_MAX_CHARS]):
                start -= 1  # Thunderbird's block opens with Subject: and Date: above From:
            for j in range(start, end + 1):
                lines[j] = _LABEL.sub(
                    lambda m: m.group(1) + _ENGLISH[_SPACES.sub("", m.group(2).casefold())] + ":", lines[j], count=1
                )
            below = lines[end + 1 : end + 3]
            # a subject a renderer wrapped is one short line and a blank one; a body goes on (a quoted
            # block has its "> " lines between, which quotequail reads)
            body_follows = bool(below) and bool(below[0].strip()) and not P.QUOTED.match(lines[end])
            body_follows = body_follows and not P.SEPARATOR.match(below[0])  # SquirrelMail's rule under its block
            whole = _subject_is(lines[end], subject) if body_follows and subject else None
            if body_follows and (
                whole or (whole is None and (len(below) == 1 or below[1].strip() or len(below[0]) > 60))
            ):
                lines.insert(end + 1, "")
            return "\n".join(lines)
    return text


def _subject_is(line: str, subject: str) -> bool | None:
    """Whether `line`, a Subject: field, says `subject` whole (True) or only its start (False); None
    when it is no Subject: field or says something else (the forwarder retyped the subject)."""
    field = P.SUBJECT_FIELD.match(line)
    if field is None:
        return None
    said, known = normalize_subject(line[field.end() :]), normalize_subject(subject)
    if not said or not known:
        return None
    return True if said == known else (False if known.startswith(said) else None)


_ON_BEHALF = re.compile(r"^.{0,200}?\bon\s+behalf\s+of\s+", re.IGNORECASE)


def parse_address(value: str) -> Address:
    """An Address from a header value as a client wrote it ("Name <a@b>", "a@b", "Name").

    Outlook's "Ops Team on behalf of Jane Roe <jane@…>" names the mailbox that sent it last.
    """
    value = _ON_BEHALF.sub("", (value or "").strip())
    notes = _NOTES_NAME.match(value)
    if notes:  # Lotus Notes' hierarchical name, "Bo Berg/ACME@ACME" or "Bo Berg/Sales/ACME": no mailbox
        return Address(notes[1].strip(), "")
    mailto = _MAILTO.match(value)
    if mailto:  # Outlook's "Bo Berg [mailto:bo@example.com]"
        value = f'"{mailto[1].strip(chr(34))}" <{mailto[2]}>' if mailto[1] else mailto[2]
    listed = comma_named(value)  # "Doe, John <john.doe@…>": the comma is the name's
    if listed is not None:
        return Address(listed[0], listed[1].lower())
    pairs = getaddresses([value]) if "@" in value else []
    if pairs and "@" in pairs[0][1]:
        name, addr = pairs[0]
        # lower-cased whole, as parse.py stores every sender: "Ivo.Novak@" and "ivo.novak@" are one
        # person to group forwards by and to match a reader's "only mine" against
        return Address(name.strip().strip('"'), addr.lower())
    return Address(value.strip('"'), "")


# Lotus Notes' "From:" row of a forward, its sender and date in one: "Bo Berg/ACME on 03/02/2026 10:15 AM",
# "bo@example.com on 03/02/2026 10:15:09 AM". The name's words, split by single spaces (at most six, each
# possessive), its units after "/" and a Notes domain after "@", or an address; then "on", a numeric date and a
# time ending the value. Only the name's few words may give back, to find " on "
_NOTES_SENDER_ON = re.compile(
    r"^[ \t]*+(?P<sender>[^\s/@<>]{1,40}+(?:[ \t][^\s/@<>]{1,40}+){0,5}"
    r"(?:/[^\s/@<>]{1,40}+){1,5}+(?:@[^\s.@<>]{1,40}+)?+"
    r"|[^\s@<>]{1,64}+@[^\s@<>]{1,255}+)[ \t]++on[ \t]++"
    r"(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4}[ \t]++\d{1,2}:\d{2}(?::\d{2})?+(?:[ \t]?+[AaPp][Mm])?+)[ \t]*+$"
)


def notes_sender(value: str) -> tuple[str, str]:
    """The sender and the date of Lotus Notes' "From: Bo Berg/ACME on 03/02/2026 10:15 AM" row (the date
    left in it made it the author's name), or `value` whole and no date."""
    found = _NOTES_SENDER_ON.match(value[: P.LINE_MAX_CHARS])
    return (found["sender"], found["date"]) if found else (value, "")


# A name, then "/" and the organisation's units, with at most a Notes domain after "@" (no dot in it)
_NOTES_NAME = re.compile(r"^([^/@<>\"]{1,80}?)/[^/@<>\s]{1,40}(?:/[^/@<>\s]{1,40}){0,4}(?:@[^.@<>\s]{1,40})?$")
_MAILTO = re.compile(r"^(.*?)\s*[\[<]mailto:([^\s\[\]<>]+@[^\s\[\]<>]+)[\]>]$", re.IGNORECASE)


def attributed(text: str) -> dict[str, str] | None:
    """quotequail's reading of a forward under an "On … wrote:" header, for the languages it reads none
    in: Outlook for Mac forwards under "28/10/2021 12:46 időpontban John Doe (john@…) ezt írta:" and
    indents the original. The author is the header's address and the name quoted or capitalised
    before it; the date, what the loose date reading finds in it."""
    lines = text.split("\n")
    header = find_header(lines)
    if header is None or on_wrote_header(lines, header[0]) != header[1]:
        return None
    said = " ".join(line.strip() for line in lines[header[0] : header[1] + 1])
    address = _HEADER_ADDRESS.search(said)
    if address is None:
        return None
    before = said[: address.start()].rstrip(" (<‹")
    quoted = _QUOTED_NAME.search(said)
    name = quoted[1] if quoted else _capitalised_tail(before.rpartition(",")[2])
    body = textwrap.dedent("\n".join(lines[header[1] + 1 :])).strip("\n")
    return {
        "type": "reply",
        "from": f'"{name}" <{address[0]}>' if name else address[0],
        "date": said,
        "text_top": "\n".join(lines[: header[0]]).strip("\n"),
        "text": body,
    }


def _capitalised_tail(text: str) -> str:
    """The capitalised words that end `text` (at most four): the name before an address."""
    words = text.split()
    at = len(words)
    while at > 0 and len(words) - at < 4 and words[at - 1][:1].isupper():
        at -= 1
    return " ".join(words[at:])


_HEADER_ADDRESS = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_QUOTED_NAME = re.compile(r'["“„«]([^"“”„«»\n]{1,80})["”“»]')


# The date field of a forward header in the languages quotequail does not map (French "Envoyé"): the
# Sent and Date labels header blocks are read by, and Chinese clients' bare "日期"
_DATE_FIELD = re.compile(
    rf"^[ \t>*]*(?:{P.labels_pattern('Sent', 'Date')}|日期)[ \t*]*[:：][ \t*]*(\S[^\n]{{0,120}})$",
    re.IGNORECASE | re.MULTILINE,
)


def with_date(result: dict[str, str], text: str) -> dict[str, str]:
    """quotequail's result with the header's date read here when it found none."""
    if result.get("date"):
        return result
    found = _DATE_FIELD.search(text)
    return {**result, "date": found.group(1).strip()} if found else result
