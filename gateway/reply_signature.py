"""Find where the signature starts in the new text of a reply.

Rules, applied to the tail of the text and repeated (a list footer below a
sign-off below the message): the "-- " delimiter (RFC 3676 §4.3; many clients
drop the trailing space), mobile lines ("Sent from my iPhone"), a separator line
followed by a short block (mailing-list footers, corporate signatures), a
closing formula followed by a short name block ("Regards,\\nJohn"), a one-line
"-Name" sign-off, notices no author writes (confidentiality, virus scans,
"consider the environment", the company register; in the languages reply
headers are read in), and a trailing contact block (name, e-mail, phone, URL; one
only: paragraphs of contact details above it are the message's). Where none
fires the text is left alone: a missed signature is shown, a false one would
hide what the author wrote.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from gateway import reply_closings as C
from gateway import reply_notices as N
from gateway import reply_patterns as P

MAX_SIG_LINES = 20  # a "-- " block longer than this is probably not a signature
MAX_SIGNOFF_TAIL = 4  # lines after "Regards," (name, title, phone, company)
MAX_SIGNOFF_BLOCK = 14  # lines after it when a name heads a company's block with contact details
MAX_LINE = 80


def signature_start(lines: list[str]) -> int | None:
    """Index of the first signature line in `lines`, or None."""
    start: int | None = None
    end = _last_nonblank(lines, len(lines))
    rules = LAYER_RULES
    for _ in range(4):  # each pass peels one more signature layer off the tail
        found = _one_layer(lines, end, rules)
        if found is None:
            break
        if found[1] is _contact_block:
            # one paragraph of contact details ends a signature; a second above it is the
            # message's own (an invitation's organiser and guests, a venue's address)
            rules = tuple(r for r in rules if r is not _contact_block)
        elif found[1] is _sign_off:
            # words between a separator and a closing are the author's ("________" dividing two parts
            # of the message); only a separator right above the closing goes with it. One closing
            # per signature: a "Thank you" above the author's last lines and their "Thank you again,"
            # is a sentence of the message
            rules = tuple(_bare_separator if r is _separator_block else r for r in rules if r is not _sign_off)
        start = found[0]
        end = _last_nonblank(lines, start)
        if end < 0:
            break
    return start


def footer_start(lines: list[str]) -> int | None:
    """Index where a "-- " signature, a separator-and-footer block or scrubbed parts' notices end `lines`."""
    end = _last_nonblank(lines, len(lines))
    if end < 0:
        return None
    for rule in (_delimiter, _separator_block, _scrubbed):
        found = rule(lines, end)
        if found is not None:
            return found
    return None


Rule = Callable[[list[str], int], "int | None"]


def _one_layer(lines: list[str], end: int, rules: tuple[Rule, ...]) -> tuple[int, Rule] | None:
    """Start of the signature layer ending at line `end` (inclusive) and the rule that found it, or None."""
    if end < 0:
        return None
    for rule in rules:
        found = rule(lines, end)
        if found is not None and (found > 0 or (rule in (_delimiter, _mobile) and end == 0)):
            return found, rule  # a "--" or "Sent from my iPhone" alone is no text: the author wrote nothing
    return None


def _delimiter(lines: list[str], end: int) -> int | None:
    for i in range(end, max(-1, end - MAX_SIG_LINES), -1):
        if C.SIG_DELIMITER.match(lines[i]):
            # a diff's line added under it ("+- `flush.retries`"): the "-- " was a removed line of a
            # patch (a Markdown item), not a signature's delimiter; a phone number's "+44" is no such line
            return None if any(_ADDED_LINE.match(line) for line in lines[i + 1 : end + 1]) else i
    return None


_ADDED_LINE = re.compile(r"^\+(?![\d(\s])")


def _separator_block(lines: list[str], end: int) -> int | None:
    """A "______" or "------" line followed by a short footer (or by nothing)."""
    nonblank = 0
    for i in range(end, max(-1, end - 2 * MAX_SIG_LINES), -1):
        line = lines[i]
        if len(line) > MAX_LINE * 2:
            return None
        if C.SIG_SEPARATOR.match(line):
            tail = lines[i + 1 : end + 1]
            if any(C.FOOTNOTE.match(t) for t in tail[:3]) or _signed_below(tail) or _prose_below(tail):
                return None
            if i > 0 and tail and _columns(lines[i - 1]) and _columns(lines[i - 1]) == _columns(tail[0]):
                return None  # a table's rule between its head and its rows (a bug tracker's change list)
            if i > 0 and _underlines(lines[i - 1], line) and not any(C.CONTACT.search(t) for t in _first_block(tail)):
                # a heading's underline about as wide as its words, over no contact details ("Exception\n
                # ---------" and a traceback, Sentry's alert); "Bo Berg\n-------\nACME | www…" stays a footer
                return None
            if nonblank == 0 or (nonblank <= 12 and all(len(t) <= MAX_LINE for t in tail)):
                return i
            return None
        if line.strip():
            nonblank += 1
    return None


def _first_block(tail: list[str]) -> list[str]:
    """The lines of the first paragraph in `tail`."""
    start = next((k for k, t in enumerate(tail) if t.strip()), len(tail))
    end = next((k for k in range(start, len(tail)) if not tail[k].strip()), len(tail))
    return tail[start:end]


def _underlines(heading: str, rule: str) -> bool:
    words, width = heading.strip(), len(rule.strip())
    return len(words) >= 3 and abs(len(words) - width) <= 3 and not C.SIG_SEPARATOR.match(words)


def _columns(line: str) -> list[int]:
    """Where a line's "|" stand: a table's head and rows put them one under the other."""
    return [i for i, ch in enumerate(line[: MAX_LINE * 2]) if ch == "|"]


def _bare_separator(lines: list[str], end: int) -> int | None:
    return end if C.SIG_SEPARATOR.match(lines[end][: MAX_LINE * 2]) else None


def _signed_below(tail: list[str]) -> bool:
    """Words, then a closing, under the separator: the author divided their own message there
    ("________" between two parts, "Best regards," under the second); the closing starts the signature."""
    text = [t for t in tail if t.strip()]
    return any(_is_closing(t) for t in text[1:])


def _prose_below(tail: list[str]) -> bool:
    """Sentences under the separator, and no notice: the author's own section under a divider or a
    heading's underline ("Release notes for 2.4\n=====\nFixed the login bug."), which was folded away.
    A footer is names, roles, addresses and links; a notice in sentences is a notice still."""
    sentences = sum(1 for t in tail if _written_sentence(t))
    if sentences <= sum(1 for t in tail if C.CONTACT.search(t)):
        return False  # a company's block with its slogan ("Building bridges since 1952.") is a footer
    text = " ".join(t.strip() for t in tail)
    return not (N.may_be_notice(text.lower()) and (N.LEGAL.search(text) or N.LINE.search(text)))


def _written_sentence(line: str) -> bool:
    return len(line.split()) >= 5 and line.rstrip().endswith((".", "!", "?")) and not C.CONTACT.search(line)


def _is_closing(line: str) -> bool:
    """ "Regards," alone, or with the name on its line ("Thanks, Ana")."""
    return bool(C.SIGN_OFF.match(line[:MAX_LINE]) or C.SIGN_OFF_NAMED.match(line[:MAX_LINE]))


def scrubbed_start(lines: list[str]) -> int | None:
    """Index where the notices of parts Mailman's scrubber removed end `lines`, or None."""
    return _scrubbed(lines, _last_nonblank(lines, len(lines)))


def _scrubbed(lines: list[str], end: int) -> int | None:
    """Mailman's notices of the parts it scrubbed, under the message: each part a "next part" line and
    its notice. A part the scrubber kept as text (a second text/plain) stops it: that is the author's."""
    top = None
    for i in range(end, max(-1, end - C.MAX_SCRUBBED_LINES), -1):
        line = lines[i][: MAX_LINE * 2]
        if C.SCRUBBED_SEPARATOR.match(line):
            top = i
        elif line.strip() and not C.SCRUBBED_NOTICE.match(line):
            break
    return top


def _mobile(lines: list[str], end: int) -> int | None:
    if end > 0 and C.BARE_LINK.match(lines[end][: MAX_LINE * 2]) and is_mobile(lines[end - 1]):
        end -= 1  # the app's link, put on a line of its own
    if not is_mobile(lines[end]):
        return None
    # "Stavros Xxxxxx\nvia mobile": a name line right above belongs to it
    if end > 0 and _is_name(lines[end - 1]) and not is_mobile(lines[end - 1]):
        return end - 1
    return end


def is_mobile(line: str) -> bool:
    """A mail app's line: "Sent from my iPhone", "Von meinem Samsung Galaxy gesendet"."""
    return C.MOBILE_LINE.match(line[:MAX_LINE].rstrip()) is not None


def _sign_off(lines: list[str], end: int) -> int | None:
    seen = 0  # lines with words: a company block spaces its parts with blank lines
    for i in range(end, max(-1, end - 3 * MAX_SIGNOFF_BLOCK), -1):
        if not lines[i].strip():
            continue
        seen += 1
        if seen > MAX_SIGNOFF_BLOCK + 1:
            break
        named = C.SIGN_OFF_NAMED.match(lines[i][:MAX_LINE]) is not None
        if named or C.SIGN_OFF.match(lines[i][:MAX_LINE]):
            tail = [t.strip() for t in lines[i + 1 : end + 1] if t.strip()]
            if len(tail) <= MAX_SIGNOFF_TAIL and all(len(t) <= 50 for t in tail):
                return i
            return i if _company_block(tail, named) else None
    return None


def _company_block(tail: list[str], named: bool) -> bool:
    """A name (on the closing's line, or the first below it), then a company's lines (role,
    company, address, phone, web, logo)."""
    if not 0 < len(tail) <= MAX_SIGNOFF_BLOCK or any(len(t) > MAX_LINE for t in tail):
        return False
    if _asks_or_lists(tail, ("?",)):
        return False  # "Thanks,\nAna\n\nP.S. the agenda:\n1. …": a postscript, not the company's lines
    if named:
        return any(C.CONTACT.search(t) for t in tail)
    name, _, rest = tail[0].partition("|")  # "Ana Lima | Head of Operations | +44 …" on one line
    return _is_name(name.strip()) and any(C.CONTACT.search(t) for t in [rest, *tail[1:]])


def _disclaimer(lines: list[str], end: int) -> int | None:
    """The last paragraphs, when each is a notice no author writes (confidentiality, virus scan, printing)."""
    start, i = None, end
    while i >= 0 and end - i < 3 * MAX_SIG_LINES:
        top = i
        while top > 0 and lines[top - 1].strip():
            top -= 1
        if top == 0:
            break  # the first paragraph is the message, whatever it says
        paragraph = " ".join(lines[top : i + 1])
        if not N.may_be_notice(paragraph.lower()):
            break
        legal = _width(paragraph) >= N.MIN_CHARS and N.LEGAL.search(paragraph)
        if not (legal or N.LINE.search(paragraph)):
            break
        start = top
        i = _last_nonblank(lines, top)
    return start


def _width(text: str) -> int:
    """Length with wide (CJK) characters counted twice: a Japanese or Chinese notice says in 60
    characters what takes 120 in a European language."""
    if len(text) >= N.MIN_CHARS or text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if unicodedata.east_asian_width(ch) in "WF")


def _dash_name(lines: list[str], end: int) -> int | None:
    return end if C.DASH_NAME.match(lines[end][:MAX_LINE]) else None


def _contact_block(lines: list[str], end: int) -> int | None:
    """A last paragraph of short lines, at least one of them contact details."""
    i = end
    while i >= 0 and lines[i].strip():
        i -= 1
    block = lines[i + 1 : end + 1]
    if not 2 <= len(block) <= 8 or i < 0:
        return None
    if any(len(b.strip()) > 50 or len(b.split()) > 6 or P.SEPARATOR.match(b) or C.FOOTNOTE.match(b) for b in block):
        return None
    contacts = sum(1 for b in block if C.CONTACT.search(b))
    if contacts == 0 or contacts == len(block) or block[0].rstrip().endswith(("?", "!", ":")):
        return None
    if _asks_or_lists(block, ("?", ":")):
        return None  # a question, a list and its lead-in: the author's ("the agenda:\n1. Budget (ana@…)")
    if any(_sentence(b) for b in block):
        return None  # "here are the links" above them: the author's words, not a name, role or company
    return i + 1


_LIST_ITEM = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s")


def _asks_or_lists(lines: list[str], ends: tuple[str, ...]) -> bool:
    """A line ending in one of `ends` (a question, a lead-in's colon) or two list items: a message, no signature."""
    return any(b.rstrip().endswith(ends) for b in lines) or sum(1 for b in lines if _LIST_ITEM.match(b)) >= 2


def _sentence(line: str) -> bool:
    """A line of three words or more that opens in lower case and holds no contact detail."""
    words = line.split()
    return len(words) >= 3 and words[0][:1].islower() and not C.CONTACT.search(line)


def _is_name(line: str) -> bool:
    words = line.split()
    return 1 <= len(words) <= 3 and len(line) <= 40 and all(w[:1].isupper() for w in words)


def _last_nonblank(lines: list[str], before: int) -> int:
    i = before - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    return i


LAYER_RULES: tuple[Rule, ...] = (
    _scrubbed,
    _delimiter,
    _separator_block,
    _mobile,
    _disclaimer,
    _sign_off,
    _dash_name,
    _contact_block,
)
