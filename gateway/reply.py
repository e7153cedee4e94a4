"""Extract step: split a reply into new text, quoted history and signature.

`split_reply` works on text/plain bodies, `split_reply_html` on HTML bodies (see
`reply_html`). Forwarded messages are left alone: unwrapping them is `forward`'s
job, and the pipeline does it before this step.

Contract for the text split: everything above the first reply header ("On …
wrote:", "-----Original Message-----", an Outlook From:/Sent: block) is new text;
the header and what follows is history, except that in an inline or
bottom-posted reply the quoted lines the author answers between stay in the text
as "> " lines. A short remark under a single quoted block ("Regards, Roman")
counts as new text and the block above it as history (talon's behaviour); so
does any answer under a single block too long to be its context (bottom posting).
Answers tagged inside an Outlook quote ("[Ana] Yes.") stay with their questions.
In a reply with no header and no quote, what follows a mail app's "Sent from my …"
line is the original its app wrote below it. Before the split, a mail gateway's
banner above the first words is dropped and a clearsigned (PGP) body's armour set
apart, its signature block for `signature`.
"""

from __future__ import annotations

import re

from gateway import reply_closings as C
from gateway import reply_patterns as P
from gateway.message import ReplyParts
from gateway.reply_headers import attribution, find_header, inline_answers_end
from gateway.reply_html import marked_signature, split_reply_html, without_banner, without_signature
from gateway.reply_signature import MAX_SIG_LINES, footer_start, is_mobile, scrubbed_start, signature_start

__all__ = [
    "split_reply",
    "split_reply_html",
    "split_lines",
    "without_banner",
    "without_signature",
    "with_marked_signature",
]

# Below this much text under one quoted block, the block is history, not context.
INLINE_MIN_CHARS = 120
INLINE_MIN_LINES = 3


def split_reply(text: str, *, own_quotes: bool = False) -> ReplyParts:
    """Split a text/plain body into (new text, quoted history, signature).

    `own_quotes`: nothing but a reply header makes quoted lines history; the
    caller knows the message is no reply (a new post quotes what its author
    chose to), or its HTML marks none of them as a quote.
    """
    lines, pgp = _clearsigned(_without_banner(_lines(text)))
    new, quoted, headed = _split_lines(lines)
    if own_quotes and not headed:
        end = len(lines)
        while end and not P.QUOTE_PREFIX.sub("", lines[end - 1]).strip():
            end -= 1  # blank lines and a quote's empty last line, ">"
        new, quoted = lines[:end], []
    sig_at = signature_start(new)
    signature: list[str] = []
    if sig_at is not None:
        new, signature = new[:sig_at], new[sig_at:]
    new, trailing = _trailing_quote(new) if headed or not own_quotes else (new, [])
    if not signature:
        quoted, signature = _signature_below_quote(quoted)
    signature = signature + ([""] if signature and pgp else []) + pgp
    return ReplyParts(text=_join(_flush_start(new)), quoted_text=_join(trailing + quoted), signature=_join(signature))


def _flush_start(lines: list[str]) -> list[str]:
    """`lines` without the one space Yahoo's text part opens the message with (" Two of us …"), when no
    other line is indented: a lone indent on the first line is no layout (a code block indents more)."""
    at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if at is None or not lines[at].startswith(" ") or lines[at].startswith("  "):
        return lines
    if any(line[:1].isspace() for line in lines[at + 1 :] if line.strip()):
        return lines
    return [*lines[:at], lines[at][1:], *lines[at + 1 :]]


def with_marked_signature(parts: ReplyParts, html: str) -> ReplyParts:
    """`parts` of an HTML-only message's text, with the signature its HTML marks (`gmail_signature`)
    moved out of `text` when the split found none: such a message has no "-- " line."""
    sig = [" ".join(line.split()) for line in marked_signature(html)]
    if parts.signature or not sig:
        return parts
    lines = parts.text.split("\n")
    at, left = len(lines), list(sig)
    while at and left:
        at -= 1
        words = " ".join(_LINK_TARGET.sub("", lines[at]).split())
        if not words:
            continue
        if words != left[-1]:
            return parts
        left.pop()
    if left or not any(line.strip() for line in lines[:at]):
        return parts  # not all of it, or nothing above it: the author's words
    return ReplyParts(text=_join(lines[:at]), quoted_text=parts.quoted_text, signature=_join(lines[at:]))


# how the text rendering of HTML writes a link's target after its words: "Proton Mail (https://proton.me)"
_LINK_TARGET = re.compile(r" ?\((?:https?|mailto):[^\s()]*\)")


def _signature_below_quote(quoted: list[str]) -> tuple[list[str], list[str]]:
    """(history, the replier's "-- " block under it): a client may put the signature below the quote
    (Thunderbird can), and a list its footer ("-- You received this message because…") or the
    notices of the parts it scrubbed ("-------------- next part --------------").

    Only under ">" lines: in history quoted without marks (Outlook), a "-- " block
    is the original author's. At most MAX_SIG_LINES lines, none of them quoted.
    """
    last = max((i for i, line in enumerate(quoted) if P.QUOTED.match(line)), default=None)
    start = _next_nonblank(quoted, last + 1) if last is not None else None
    if start is None:
        return quoted, []
    if not C.SIG_DELIMITER.match(quoted[start]):
        scrubbed = scrubbed_start(quoted[start:])
        return (quoted, []) if scrubbed != 0 else (quoted[:start], quoted[start:])
    block = [line for line in quoted[start:] if line.strip()]
    if len(block) > MAX_SIG_LINES:
        return quoted, []
    return quoted[:start], quoted[start:]


def _without_banner(lines: list[str]) -> list[str]:
    """The body without the security banner a mail gateway put above the author's first words,
    or the line a newsletter opens with to offer its web copy.

    They speak to the mailbox that received the mail, not to the feed's readers.
    Proofpoint frames its box (and a hidden copy of the first words above it)
    with markers; the others are the first paragraph.
    """
    for i, line in enumerate(lines[:40]):
        if line.strip() == "ZjQcmQRYFpfptBannerEnd":
            return lines[i + 1 :]
    first = _next_nonblank(lines, 0)
    if first is not None and P.VIEW_ONLINE.match(lines[first][: P.LINE_MAX_CHARS]):
        return lines[first + 1 :]  # that line only: the newsletter may go on below it
    if first is None or not P.BANNER.match(lines[first]):
        return lines
    end = first
    while end < len(lines) and lines[end].strip():
        end += 1
    return lines[end:]


def _clearsigned(lines: list[str]) -> tuple[list[str], list[str]]:
    """An OpenPGP clearsigned body (RFC 4880 §7) as its message, and its signature block.

    The armour header and its "Hash:" lines frame the message; dash-escaped lines
    ("- -- ") lose their escape; the signature block goes with the signature.
    """
    first = _next_nonblank(lines, 0)
    if first is None or lines[first].strip() != "-----BEGIN PGP SIGNED MESSAGE-----":
        return lines, []
    start = first + 1
    while start < len(lines) and lines[start].strip():
        start += 1  # "Hash: SHA256", up to the blank line
    begin = next((i for i in range(start, len(lines)) if lines[i].strip() == "-----BEGIN PGP SIGNATURE-----"), None)
    if begin is None:
        return lines, []
    end = next(
        (i for i in range(begin, len(lines)) if lines[i].strip() == "-----END PGP SIGNATURE-----"), len(lines) - 1
    )
    body = [ln[2:] if ln.startswith("- ") else ln for ln in lines[start + 1 : begin]]
    return body + lines[end + 1 :], lines[begin : end + 1]


def split_lines(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split body lines into (new lines, quoted-history lines); see the module contract.

    In an inline reply the new lines may still end with the trailing quote and a
    footer; `split_reply` peels those off after the signature.
    """
    new, quoted, _ = _split_lines(lines)
    return new, quoted


def _split_lines(lines: list[str]) -> tuple[list[str], list[str], bool]:
    """`split_lines`, and whether a reply header was found (not only quoted lines)."""
    lines = _split_shared_lines(lines)
    kinds = _kinds(lines)
    header = _reply_header(lines, kinds)
    if header is None:
        opening = _next_nonblank(lines, 0)
        if opening is not None and kinds[opening] != "Q" and attribution(lines[opening]):
            below = _next_nonblank(lines, opening + 1)
            if below is not None and kinds[below] == "Q":  # "John wrote:" opening the body, its quote below
                return *_split_below(lines, kinds, (opening, opening)), True
        if opening is None or kinds[opening] != "Q":
            original = _original_below_app_line(lines, kinds)
            return *(original or _split_trailing_quote(lines, kinds)), False
        # a quote the body opens with and no header above it (bottom posting): as below a header
        return *_split_below(lines, kinds, (opening, opening - 1)), False
    return *_split_below(lines, kinds, header), True


def _split_below(lines: list[str], kinds: list[str], header: tuple[int, int]) -> tuple[list[str], list[str]]:
    """(new lines, history) of a body whose history starts at `header` (its first and last line)."""
    begin, end = header
    first = _next_nonblank(lines, end + 1)
    if first is None or kinds[first] != "Q":
        # Gmail without markers, Outlook: everything below the header is history, but for
        # answers typed into the original ("[Ana] Yes."), which stay with their questions
        answered = inline_answers_end(lines, end + 1)
        if answered is not None:
            return lines[: answered + 1], lines[answered + 1 :]
        return lines[:begin], lines[begin:]
    later = find_header(lines, end + 1)
    stop = later[0] if later is not None else len(lines)
    footer = footer_start(lines[end + 1 : stop])  # a list footer below the quote is no answer
    answer_end = stop if footer is None else end + 1 + footer
    text_idx = [i for i in range(end + 1, answer_end) if kinds[i] == "T"]
    if not text_idx:
        return lines[:begin], lines[begin:]
    if _is_inline(lines, kinds, text_idx, end + 1):
        return lines[:stop], lines[stop:]
    # one quoted block and a short remark below it: the block is history; a signature
    # or footer under the remark stays with it, for split_reply to take apart (KMail)
    first_t, last_t = text_idx[0], text_idx[-1]
    new = lines[:begin] + [""] + lines[first_t : last_t + 1] + lines[answer_end:stop]
    return new, lines[begin:first_t] + lines[last_t + 1 : answer_end] + lines[stop:]


def _original_below_app_line(lines: list[str], kinds: list[str]) -> tuple[list[str], list[str]] | None:
    """(new lines, history) of a reply whose mail app wrote the original, unquoted and with no
    header, below its "Sent from my …" line; None for any other body.

    The app line, between blank lines under the author's words, ends what they wrote: the
    whole earlier message was shown as theirs.
    """
    for i in range(1, len(lines) - 1):
        if kinds[i] != "T" or kinds[i - 1] != "B" or kinds[i + 1] != "B" or not is_mobile(lines[i]):
            continue
        after = _next_nonblank(lines, i + 1)
        if after is None or "Q" in kinds[after:] or footer_start(lines[after:]) == 0:
            return None
        return lines[: i + 1], lines[after:]
    return None


def _reply_header(lines: list[str], kinds: list[str]) -> tuple[int, int] | None:
    """The first reply header, skipping a header block that opens the body.

    A From:/Sent: block with nothing above it and plain text below is the
    message's own header pasted in (Outlook "send as text", forwards without a
    marker), not the start of history.
    """
    header = find_header(lines)
    if header is None or _next_nonblank(lines, 0) != header[0]:
        return header
    below = _next_nonblank(lines, header[1] + 1)
    if below is not None and kinds[below] == "T":
        return find_header(lines, header[1] + 1)
    return header


def _trailing_quote(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split off quoted lines (and blanks) at the end of the new text."""
    i = len(lines)
    while i > 0 and (not lines[i - 1].strip() or P.QUOTED.match(lines[i - 1])):
        i -= 1
    if not any(P.QUOTED.match(ln) for ln in lines[i:]):
        return lines, []
    above = i
    while above > 0 and not lines[above - 1].strip():
        above -= 1
    if above > 1 and attribution(lines[above - 1]):
        i = above - 1  # "Bob wrote:" right above it (the replier's "-- " block was below the quote)
    return lines[:i], lines[i:]


def _is_inline(lines: list[str], kinds: list[str], text_idx: list[int], start: int) -> bool:
    """True when the author answers between quoted blocks (or at length below one)."""
    answered_blocks, prev = 0, ""
    for i in range(start, text_idx[-1] + 1):
        k = kinds[i]
        if k == "T" and prev == "Q":
            answered_blocks += 1
        if k != "B":
            prev = k
    if answered_blocks >= 2:
        return True
    quoted = sum(1 for i in range(start, text_idx[0]) if kinds[i] == "Q")
    if quoted > P.CONTEXT_MAX_LINES:
        return False  # the whole message quoted above the answer: bottom posting, not context
    answer = lines[text_idx[0] : text_idx[-1] + 1]
    signed = signature_start(answer)  # "Best,\nAna" under a one-line answer makes it no longer
    if signed is not None:
        text_idx = [i for i in text_idx if i < text_idx[0] + signed]
    chars = sum(len(lines[i].strip()) for i in text_idx)
    return len(text_idx) >= INLINE_MIN_LINES or chars >= INLINE_MIN_CHARS


def _split_trailing_quote(lines: list[str], kinds: list[str]) -> tuple[list[str], list[str]]:
    """Without a header, only a quoted block at the very end is history, with a "Bob wrote:" right above it."""
    last_text = max((i for i, k in enumerate(kinds) if k == "T"), default=-1)
    if not any(k == "Q" for k in kinds[last_text + 1 :]):
        return lines, []
    cut = last_text + 1
    if last_text >= 0 and kinds[cut] == "Q" and attribution(lines[last_text]):
        cut = last_text  # "Bo wrote:" right above the quote
    return lines[:cut], lines[cut:]


def _kinds(lines: list[str]) -> list[str]:
    """Q (quoted), B (blank) or T (text) per line.

    A lone text line wedged between quoted lines is a quoted line the client
    re-wrapped (long links broken by talon's Mailgun clients, Outlook), so it is Q.
    """
    # ">" among a line's first characters before the pattern: most lines have none, and the pattern
    # (initials too, "BB> ") costs more than the look
    kinds = ["B" if not ln.strip() else "Q" if ">" in ln[:16] and P.QUOTED.match(ln) else "T" for ln in lines]
    for i in range(1, len(kinds) - 1):
        if kinds[i] == "T" and kinds[i - 1] == "Q" and kinds[i + 1] == "Q":
            kinds[i] = "Q"
    return kinds


def _split_shared_lines(lines: list[str]) -> list[str]:
    """Break "reply text On <date>, X wrote:" into two lines (Yahoo, old webmail)."""
    out: list[str] = []
    for i, line in enumerate(lines):
        if "wrote:" in line and len(line) <= 1000 and not line.lstrip().startswith(("On ", ">")):
            m = P.SHARED_LINE_HEADER.match(line)
            nxt = _next_nonblank(lines, i + 1)
            if m and nxt is not None and P.QUOTED.match(lines[nxt]) and any(c.isalnum() for c in m["before"]):
                out.extend([m.group("before"), m.group("header")])
                continue  # only words before it: Zimbra's "- On … wrote:" is one header
        out.append(line)
    return out


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _next_nonblank(lines: list[str], i: int) -> int | None:
    while i < len(lines):
        if lines[i].strip():
            return i
        i += 1
    return None


def _join(lines: list[str]) -> str:
    return "\n".join(ln.rstrip() for ln in lines).strip("\n")
