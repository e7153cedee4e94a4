"""Find the line where quoted history starts: reply headers and separators.

A header is one of: "On <date>, <name> wrote:" (and translations, wrapped over
up to `HEADER_MAX_LINES` lines), Gmail's "<date> <name> <addr>:", Android's
"---- X wrote ----", Horde's "Zitat von X:", Notes' "X ---date---", mutt's
"* X [date]:", sup's "Excerpts from X's message of date:", Outlook's
"-----Original Message-----", an Outlook "From:/Sent:/To:/Subject:" block, or
a notification's "-- Reply above this line --" with a reply typed above it (a
client that quotes with no header of its own leaves the notification below).
Forward markers are deliberately not headers: a forwarded message is the body
of the mail, and `forward` unwraps it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from gateway import reply_patterns as P
from gateway.forward_markers import is_forward_marker


def _is_header_text(joined: str, first_line: str, multi: bool, marker: bool = True) -> bool:
    """True when `joined` (one or a few lines) reads as an "On … wrote:" header.

    `marker` False says the text holds no "wrote" word in any language (see
    `P.MARKER_PIECES`), which spares the two costly searches for one.
    """
    if len(joined) > P.HEADER_MAX_CHARS:
        return False
    if not (P.DIGIT.search(joined) or "@" in joined):
        return False
    opens = P.HEADER_START.match(first_line) or P.ADDRESS_THEN_MARKER.search(first_line)
    if multi and not (opens or P.ADDRESS_THEN_CJK_DATE.search(first_line)):
        return False
    if marker and P.WROTE_END.search(joined):
        return True
    if not multi and P.EMAIL_COLON_END.search(joined) and P.DIGIT.search(joined):
        return True
    if marker and P.WROTE_MID.search(joined):
        return bool(P.DIGIT.search(joined))
    return False


def _pieces(lines: list[str]) -> tuple[list[bool], frozenset[int]]:
    """Per line, whether it holds a piece of a "wrote" word (each piece is one word, never split over
    lines); and the lines that may be a reply delimiter ("above this line", "##- … -##").

    Found with str.find over the whole text, piece by piece: far cheaper than
    testing every line. The last answer is kept, as callers scan one list of
    lines several times from different starts.
    """
    global _last
    if _last is not None and _last[0] is lines and len(_last[1]) == len(lines):
        return _last[1], _last[2]
    starts, at = [], 0
    for line in lines:
        starts.append(at)
        at += len(line) + 1
    text = "\n".join(lines).lower()
    if len(text) != max(0, at - 1):  # a few letters lengthen when lowered (İ): go line by line
        flags = [any(piece in line.lower() for piece in P.MARKER_PIECES) for line in lines]
        delimiters = frozenset(i for i, line in enumerate(lines) if any(p in line.lower() for p in P.DELIMITER_PIECES))
        _last = (lines, flags, delimiters)
        return flags, delimiters
    flags = [False] * len(lines)
    for piece in P.MARKER_PIECES:
        for found in _finds(text, piece):
            flags[bisect.bisect_right(starts, found) - 1] = True
    delimiters = frozenset(bisect.bisect_right(starts, f) - 1 for p in P.DELIMITER_PIECES for f in _finds(text, p))
    _last = (lines, flags, delimiters)
    return flags, delimiters


def _finds(text: str, piece: str) -> Iterator[int]:
    found = text.find(piece)
    while found != -1:
        yield found
        found = text.find(piece, found + 1)


_last: tuple[list[str], list[bool], frozenset[int]] | None = None


def _is_delimiter(lines: list[str], i: int, *, quoted: bool = False) -> bool:
    """True when line i asks for replies above it and someone wrote above it (a reply, not the notification)."""
    line = _clean(lines[i], quoted)[: P.LINE_MAX_CHARS]
    if not (P.REPLY_DELIMITER.match(line) or P.HELPDESK_MARKER.match(line)):
        return False
    return any(any(ch.isalnum() for ch in _clean(above, quoted)) for above in lines[:i])


_ONE_LINE_HEADERS = (
    P.ANDROID_HEADER,
    P.DATE_EMAIL_HEADER,
    P.QUOTING_HEADER,
    P.NOTES_HEADER,
    P.CONSOLE_CLIENT_HEADER,
    P.NAME_ADDRESS_DASH_DATE,
    P.ARABIC_ATTRIBUTION,
)


def on_wrote_header(lines: list[str], i: int, *, quoted: bool = False, marker: bool | None = None) -> int | None:
    """End index (inclusive) of an "On … wrote:"-style header starting at line i.

    With `quoted`, quote markers are stripped first (for headers inside history).
    `marker` says whether lines i… hold a "wrote" word (`_pieces`); None: look.
    """
    first = _clean(lines[i], quoted)
    if not first.isascii():
        first = _unmarked(first)
    if not first.strip() or len(first) > P.LINE_MAX_CHARS:
        return None
    if any(p.match(first) for p in _ONE_LINE_HEADERS):
        return i
    # Every form over several lines needs a marker word; most lines have none, so
    # one search over the window spares the joins and tests of each prefix.
    if marker is None:
        window = " ".join(lines[i : i + P.HEADER_MAX_LINES]).lower()
        marker = any(piece in window for piece in P.MARKER_PIECES)
    steps = P.HEADER_MAX_LINES if marker and _may_wrap(first) else 1
    parts: list[str] = []
    for k in range(steps):
        j = i + k
        if j >= len(lines):
            break
        line = _clean(lines[j], quoted)
        if not line.isascii():
            line = _unmarked(line)
        if len(line) > P.LINE_MAX_CHARS:
            break
        if k and P.HEADER_START.match(line) and _is_header_text(line, line, multi=False, marker=marker):
            return None  # a whole header starts on this line: the lines above are the author's
        parts.append(line.strip())
        joined = " ".join(p for p in parts if p)
        if len(joined) > P.HEADER_MAX_CHARS:
            break
        if _is_header_text(joined, first, multi=k > 0, marker=marker):
            return j
        if k == 0 and P.DATE_EMAIL_HEADER.match(joined + " " + _clean(_get(lines, j + 1), quoted).strip()):
            # Gmail wraps "2014-10-17 11:28 GMT+03:00 Postmaster <\npostmaster@…>:"
            return j + 1
    return None


def _may_wrap(first: str) -> bool:
    """Whether a header may go on below this first line: it holds the date or the address, and
    ends no sentence. Else the author's own last words above the header ("On it.", "On second
    thought, let's say 11.", "Le plan est joint.") were read as its first line and hidden with it."""
    first = first.rstrip()
    # "okt." inside a parenthesis still open (Gmail's Hungarian "… ezt írta (időpont: 2022. okt.") ends none
    open_paren = first.count("(") > first.count(")")
    ends_sentence = first.endswith(_SENTENCE_ENDS) and not P.DAY_DOT.search(first) and not open_paren
    return bool(P.DIGIT.search(first) or "@" in first) and not ends_sentence


_SENTENCE_ENDS = (".", "!", "?", "。", "！", "？")


def attribution(line: str) -> bool:
    """True when the line is "Bob Smith wrote:" with no date or address (`P.NAME_WROTE`).

    A header only right above a quote, which the caller checks; and only when the
    words before "wrote" read as a name: "Here is what the customer wrote:" is the
    author's own lead-in to a quote they chose.
    """
    m = P.NAME_WROTE.match(line) if len(line) <= P.NAME_WROTE_MAX_CHARS else None
    if m is None:
        return False
    words = (m.group("name") or m.group("after") or m.group("ja")).replace('"', " ").split()
    if "via" in words:  # "codinghorror via Team": a list or forum names who wrote, then itself
        words = words[: words.index("via")]
    return len(words) == 1 or (len(words) > 1 and all(_capital(w[:1]) for w in words))


def _capital(ch: str) -> bool:
    """A capital, or a letter of a script without case ("佐藤 花子")."""
    return ch.isupper() or (ch.isalpha() and ch.lower() == ch.upper())


def separator_header(lines: list[str], i: int, *, quoted: bool = False) -> bool:
    """True when line i is an "-----Original Message-----" style separator."""
    line = _clean(lines[i], quoted)
    return len(line) < P.LINE_MAX_CHARS and bool(P.ORIGINAL_MESSAGE.match(line))


def field_block(lines: list[str], i: int, *, quoted: bool = False) -> int | None:
    """End index of an Outlook "From:/Sent:/To:/Subject:" block starting at line i.

    Needs the opener (From:, or Date:/Sent: as some clients start with it) and at
    least one more known field within the next lines; wrapped values (Outlook
    breaks long To: lists) and single blank lines may sit between fields.
    """
    first = _clean(lines[i], quoted)
    if len(first) > P.LINE_MAX_CHARS or not (P.FROM_FIELD.match(first) or P.BLOCK_OPENER.match(first)):
        return None
    fields, end, gap, spaced, subjects = 1, i, 0, False, 0
    marked = "@" in first or bool(P.BLOCK_OPENER.match(first))  # an address or a date among the fields
    for j in range(i + 1, min(len(lines), i + 12)):
        line = _clean(lines[j], quoted)
        if len(line) > P.LINE_MAX_CHARS:
            break
        if _is_field(line):
            fields, end, gap = fields + 1, j, 0
            marked = marked or "@" in line or bool(P.BLOCK_OPENER.match(line))
            subjects += bool(P.SUBJECT_FIELD.match(line))
        elif line.strip() and gap < 2 and fields < 5:
            gap += 1  # a wrapped value
        elif not line.strip() and j + 1 < len(lines) and _is_field(_clean(lines[j + 1], quoted)):
            spaced = True  # a blank line between two fields (an HTML header made text: a paragraph each)
        else:
            break
    # two fields only with an address or a date among them, and three at least when spaced: Outlook
    # writes four ("From: Berlin Hbf" / "To: München Hbf" is a trip). From: and Subject: alone are git's
    # in-body header of a patch (under "-- >8 --", or naming whom a commit message quotes): no history
    in_body = fields == 2 and subjects == 1 and P.FROM_FIELD.match(first) is not None
    if fields >= 3 or (fields == 2 and marked and not spaced and not in_body):
        return end
    return None


def _is_field(line: str) -> bool:
    return len(line) <= P.LINE_MAX_CHARS and bool(P.OTHER_FIELD.match(line) or P.FROM_FIELD.match(line))


def forward_marker_above(lines: list[str], i: int, *, quoted: bool = False) -> bool:
    """True when a forward marker sits just above line i (Gmail, Thunderbird, Apple)."""
    j = i - 1
    while j >= 0 and not _clean(lines[j], quoted).strip():
        j -= 1
    return j >= 0 and is_forward_marker(_clean(lines[j], quoted))


def find_header(lines: list[str], start: int = 0, *, quoted: bool = False) -> tuple[int, int] | None:
    """First (begin, end) header span at or after `start`, or None.

    The span begins at an Outlook separator line right above a field block, so the
    "________" line goes with the history it introduces.
    """
    markers, delimiters = _pieces(lines)
    i = start - 1
    while i + 1 < len(lines):
        i += 1
        line = lines[i]
        if not line.strip():
            continue
        if not quoted and P.QUOTED.match(line):
            # GroupWise's header; with nothing above it, answers are typed into the original, which
            # GroupWise marks no more than Outlook does its "-----Original Message-----": the text stays
            groupwise = line.startswith(">>>") and P.GROUPWISE_HEADER.match(line[: P.LINE_MAX_CHARS])
            if groupwise and any(above.strip() for above in lines[:i]):
                return i, i
            continue
        if is_forward_marker(_clean(line, quoted)) or P.GIT_PATCH.match(line):
            i = _skip_forward_fields(lines, i, quoted)
            continue
        marker = any(markers[i : i + P.HEADER_MAX_LINES])
        if i in delimiters and _is_delimiter(lines, i, quoted=quoted):
            return i, i
        if P.DAVID_HEADER.match(line):
            return i, _lines_above_blank(lines, i, quoted)
        if not marker and not P.HEADER_CHARS.search(line):
            continue  # plain prose: no form below can start on this line
        end = on_wrote_header(lines, i, quoted=quoted, marker=marker)
        if end is not None:
            return i, end
        if separator_header(lines, i, quoted=quoted):
            return i, _block_below(lines, i, quoted)
        end = field_block(lines, i, quoted=quoted)
        if end is not None and not forward_marker_above(lines, i, quoted=quoted):
            return _with_separator(lines, i, quoted), end
    return None


def inline_answers_end(lines: list[str], start: int) -> int | None:
    """The last line of answers typed into an unmarked quote (Outlook), or None.

    Outlook marks no quoted line with ">", so answers inside the original are
    told by the tag their author puts before each ("[Ana] Yes, Thursday."): the
    same tag on two lines or more below `start`.
    """
    seen: dict[str, list[int]] = {}
    for i in range(start, min(len(lines), start + P.INLINE_TAG_LINES)):
        line = lines[i]
        if "[" in line and not (P.FROM_FIELD.match(line) or P.OTHER_FIELD.match(line)):  # "Subject: [EXTERNAL] …"
            for m in P.INLINE_TAG.finditer(line):
                if m.group(1).upper() not in P.GATEWAY_TAGS:
                    seen.setdefault(m.group(1), []).append(i)
    tagged = [at for at in seen.values() if len(at) >= 2]
    return max(at[-1] for at in tagged) if tagged else None


def _block_below(lines: list[str], i: int, quoted: bool) -> int:
    """End of the From:/Sent: block Outlook puts under its separator line, else i."""
    j = i + 1
    while j < len(lines) and j < i + 3 and not _clean(lines[j], quoted).strip():
        j += 1
    if j < len(lines):
        end = field_block(lines, j, quoted=quoted)
        if end is not None:
            return end
    return i


def _lines_above_blank(lines: list[str], i: int, quoted: bool, most: int = 6) -> int:
    """Last line of a header block that runs from line i to the first blank line (at most `most` lines)."""
    j = i
    while j + 1 < len(lines) and j + 1 <= i + most and _clean(lines[j + 1], quoted).strip():
        j += 1
    return j


def _skip_forward_fields(lines: list[str], i: int, quoted: bool) -> int:
    """Index of the last line of the header block under a forward marker at line i."""
    j = i + 1
    while j < len(lines) and not _clean(lines[j], quoted).strip():
        j += 1
    if j < len(lines):
        end = field_block(lines, j, quoted=quoted)
        if end is None:  # Thunderbird's block opens with Subject: and Date:, which open no reply's block
            end = j - 1
            while end + 1 < min(len(lines), j + 12) and _is_field(_clean(lines[end + 1], quoted)):
                end += 1
        if end > j:
            return end
    return i


def _with_separator(lines: list[str], i: int, quoted: bool) -> int:
    """The start of a field block moved up over the line that introduces it: a separator, Notes'
    "Name --- Subject ---", or Orange's "Message du 12/12/2016 13:20" (and a separator above that)."""
    for _ in range(2):
        j = i - 1
        while j >= 0 and not _clean(lines[j], quoted).strip():
            j -= 1
        above = _clean(lines[j], quoted)[: P.LINE_MAX_CHARS] if j >= 0 else ""
        if P.SEPARATOR.match(above) or P.NOTES_TITLE.match(above):
            return j
        if not P.MESSAGE_OF.match(above):
            break
        i = j
    return i


def _unmarked(line: str) -> str:
    """The line without bidi direction marks, which stand between an address and its ">" or ":"."""
    return P.BIDI_MARKS.sub("", line)


def _clean(line: str, quoted: bool) -> str:
    return P.QUOTE_PREFIX.sub("", line, count=1) if quoted else line


def _get(lines: list[str], j: int) -> str:
    return lines[j] if j < len(lines) else ""
