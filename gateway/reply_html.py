"""Cut an HTML reply into the new part and the quoted history.

Two kinds of evidence, whichever comes first wins:
- structure the clients leave (read by `reply_html_scan`): Gmail's `gmail_quote`, Apple/Thunderbird
  `<blockquote type="cite">`, Thunderbird's `moz-cite-prefix`, Outlook web's
  `divRplyFwdMsg`, Outlook for Mac's `OLK_SRC_BODY_SECTION`, Outlook mobile's
  `messageReplySection`, Yahoo's `yahoo_quoted`, ProtonMail's `protonmail_quote`;
- text: the same reply headers `reply_headers` finds in plain text (Outlook
  desktop's border-top From:/Sent: block, Hotmail's `<hr>` + Date:/From:,
  Mail.ru and Yandex "<date>, Name <addr>:" lines, "-----Original Message-----").

The cut moves back over the elements the quote opens with (Gmail's
`gmail_extra`, an `<hr>`, Outlook's bordered div) and over an "On … wrote:"
line right above a quote. A quoted block followed by more new text is an inline
reply and is not cut, except a quote the body opens with (under its
attribution) and a short answer below it, or any answer below a long quote
(bottom posting), where the quote alone goes; answers tagged inside an
Outlook quote ("[Ana] Yes.") move the cut below the last of them; a container
with answers between the quotes inside it (Gmail's inline reply, all in one
`gmail_quote` div) is no quote, its quotes are; plain `<blockquote>`s from the
one right under (or opening with) a reply header found in text are quotes too. Lines inside
`<pre>` are lines (Thunderbird's plain-text mode). Also here, for extract: the
signature's cut (`without_signature`) and the gateway banner's (`without_banner`).
Works on a flat token stream: linear, no recursion.
"""

from __future__ import annotations

import re

from gateway import reply_patterns as P
from gateway.reply_headers import attribution, find_header, inline_answers_end, on_wrote_header
from gateway.reply_html_scan import Scan, html_tokens, is_quote, uncovered_text_suffix
from gateway.reply_signature import footer_start
from gateway.reply_tokens import OpenStack, Token, source

_SPACES = re.compile(r"\s+")
# how a text part writes a link the HTML puts on words: "Mail<https://…>", "[https://…]", or glued on
_TEXT_LINK = re.compile(r"[<\[](?:https?|mailto):[^\s<>\[\]]*[>\]]|(?<=[^\W\d_])https?://[^\s<>]*")


def split_reply_html(html: str) -> tuple[str, str]:
    """(new_html, quoted_html); quoted_html is "" when nothing is quoted."""
    tokens = html_tokens(html)
    scan = Scan(tokens)
    cut = _find_cut(tokens, scan)
    if cut is None:
        quote = _bottom_posted_quote(tokens, scan)
        if quote is None:
            return html, ""
        start, end = quote  # one quote, then a short answer: the quote is the history
        kept = tokens[:start] + tokens[end + 1 :]
        return "".join(source(t) for t in kept), "".join(source(t) for t in tokens[start : end + 1])
    return _split_at(tokens, cut)


# Below this much text under the one quote that opens the body, the quote is history, not
# context (reply.py's rule for text: "a short remark under a single quoted block")
BOTTOM_ANSWER_MAX_CHARS = 120
BOTTOM_ANSWER_MAX_LINES = 2


def _bottom_posted_quote(tokens: list[Token], scan: Scan) -> tuple[int, int] | None:
    """The quote a bottom-posted reply opens with, when a short answer below it is all the new text,
    or when it is too long to be the answer's context (`P.CONTEXT_MAX_LINES`)."""
    outer = [(s, e) for s, e in scan.spans if not any(o < s and e <= oe for o, oe in scan.spans)]
    if len(outer) == 2 and (
        "moz-cite-prefix" in tokens[outer[0][0]].attr("class") or _attribution_only(scan, *outer[0], outer[1][0])
    ):
        outer = [(outer[0][0], outer[1][1])]  # Thunderbird's moz-cite-prefix, then its quote; Apple's, the same
    if len(outer) != 1:
        return None
    start, end = outer[0]
    start = _header_above(scan, start)  # Apple Mail's "On … wrote:" above its quote
    if scan.tok_line[start] != 0 or end + 1 >= len(scan.tok_line):
        return None  # text above the quote: an inline reply, or a quote with nothing below
    signed = {line for s, e in scan.quiet if s > end for line in range(scan.tok_line[s], scan.tok_line[e] + 1)}
    below = [ln for i, ln in enumerate(scan.lines[scan.tok_line[end] :], scan.tok_line[end]) if i not in signed]
    if not below:
        return None
    if scan.tok_line[end] - scan.tok_line[start] > P.CONTEXT_MAX_LINES:
        return start, end  # the whole message quoted above the answer
    if len(below) > BOTTOM_ANSWER_MAX_LINES or sum(len(ln) for ln in below) > BOTTOM_ANSWER_MAX_CHARS:
        return None
    return start, end


def _attribution_only(scan: Scan, start: int, end: int, following: int) -> bool:
    """The span holds an "On … wrote:" alone and the next quote follows it right away: Apple Mail
    on iOS puts its attribution in a `<blockquote type="cite">` of its own."""
    first, after = scan.tok_line[start], scan.tok_line[end] if end < len(scan.tok_line) else len(scan.lines)
    if after != scan.tok_line[following] or not first < after <= first + P.HEADER_MAX_LINES:
        return False
    found = on_wrote_header(scan.lines, first)
    return (found is not None and found == after - 1) or (after == first + 1 and attribution(scan.lines[first]))


def without_signature(html: str, signature: str) -> str:
    """The new HTML without the signature the text split found at its end.

    Cut at the client's signature element (`gmail_signature`, `moz-signature`, …)
    or else at the last line that reads as the signature's first; only when
    what the cut drops is about the signature's length, so no new text goes.
    The page shows the signature folded, apart, as the text fields keep it.
    """
    # a link the text part wrote as "Mail<https://…>" is the word alone in the HTML (`_TEXT_LINK`)
    lines = [ln for ln in (_SPACES.sub(" ", _TEXT_LINK.sub("", ln)).strip() for ln in signature.split("\n")) if ln]
    if not lines:
        return html
    tokens = html_tokens(html)
    scan = Scan(tokens)
    cut = min((start for start, _ in scan.quiet), default=None)
    if cut is None:
        first = _as_delimiter(lines[0])
        at = next((i for i in range(len(scan.lines) - 1, -1, -1) if _as_delimiter(scan.lines[i]) == first), None)
        if at is None and first == "--" and len(lines) > 1 and len(lines[1]) >= 20:
            # the text's delimiter is no line of the HTML (GitLab's footer sits under its logo): the line
            # after it starts one, its links written as words
            at = next((i for i in range(len(scan.lines) - 1, -1, -1) if scan.lines[i].startswith(lines[1])), None)
        if at is None:
            return html
        cut = scan.line_tok[at]
    dropped = sum(len(ln) for ln in scan.lines[scan.tok_line[cut] if cut < len(scan.tok_line) else len(scan.lines) :])
    if dropped > 1.5 * sum(len(ln) for ln in lines) + 40:
        return html
    return _split_at(tokens, _back_over_delimiter(tokens, _back_over_opening(tokens, cut)))[0]


def _back_over_delimiter(tokens: list[Token], cut: int) -> int:
    """The cut moved above a "-- " line right above it (Gmail writes it before its signature's element)."""
    if cut > 0 and tokens[cut - 1].kind == "data" and _DELIMITER.match(tokens[cut - 1].text.strip()):
        return _back_over_opening(tokens, cut - 1)
    return cut


def marked_signature(html: str) -> list[str]:
    """The text lines of the signature the client marked (`gmail_signature`, `moz-signature`, …)
    at the end of the HTML, or []: an HTML-only message has no "-- " line to tell it by."""
    if "ignature" not in html:
        return []
    tokens = html_tokens(html)
    scan = Scan(tokens)
    if not scan.quiet:
        return []
    last = max(scan.quiet)
    start, end = min(span for span in scan.quiet if span[0] <= last[0] and last[1] <= span[1])  # the outermost
    if end + 1 < len(scan.text_after) and scan.text_after[end + 1]:
        return []  # the author's words go on below it
    return scan.lines[scan.tok_line[start] :] if start < len(scan.tok_line) else []


_DELIMITER = re.compile(r"^(?:-{2,3}|—|–|_{2,})$")  # GitHub and GitLab write "---" in text, "—" in HTML


def _as_delimiter(line: str) -> str:
    """A signature delimiter as one form: the text part's "--" is an em dash in GitHub's HTML, say."""
    return "--" if _DELIMITER.match(line) else line


# Words one of the banners below holds, looked for in the top of the HTML as plain substrings: a
# regular expression over every message's whole HTML cost more than the rest of this module
_BANNER_HINTS = (
    "learnaboutsenderidentification",
    "banner",
    "originated",
    "external sender",
    "do not click links",
    "externen absender",
    "provient de l",
)
BANNER_AT_MOST = 20_000  # characters from the top: a gateway puts its banner first
_PROOFPOINT = re.compile(r"<!--\s*BaNnErBlUrFlE-HeAdEr-start\s*-->.*?<!--\s*BaNnErBlUrFlE-BoDy-end\s*-->", re.S)
BANNER_BOXES = frozenset({"table", "div", "p", "center"})


def without_banner(html: str) -> str:
    """The HTML without the security banner a mail gateway put above the author's first words.

    Proofpoint frames its box with comments; otherwise the outermost table, div or
    p that holds the first line and no more than two short lines, when that line
    reads as a banner (`P.BANNER`).
    """
    top = html[:BANNER_AT_MOST].lower()
    if not any(hint in top for hint in _BANNER_HINTS):
        return html
    unframed = _PROOFPOINT.sub("", html, count=1)
    if unframed != html:
        return unframed
    tokens = html_tokens(html)
    scan = Scan(tokens)
    if not scan.lines or not P.BANNER.match(scan.lines[0]):
        return html
    stack, box = OpenStack(), None
    for i, tok in enumerate(tokens):
        if tok.kind == "start":
            stack.push(i, tok.tag)
        elif tok.kind == "end":
            start = stack.pop(tok.tag)
            if start is None or tokens[start].tag not in BANNER_BOXES or scan.tok_line[start] != 0:
                continue
            lines = scan.lines[: scan.tok_line[i]]
            if 1 <= len(lines) <= 2 and sum(len(ln) for ln in lines) <= 400:
                box = (start, i)  # closes after any box inside it: the outermost so far
    if box is None:
        return html
    return "".join(source(t) for t in tokens[: box[0]]) + "".join(source(t) for t in tokens[box[1] + 1 :])


def _split_at(tokens: list[Token], cut: int) -> tuple[str, str]:
    """The markup before token `cut` with its open elements closed, and the rest with them reopened."""
    stack = OpenStack()
    for i in range(cut):
        _replay(stack, tokens, i)
    new = "".join(source(t) for t in tokens[:cut]) + "".join(f"</{t}>" for t in reversed(stack.tags))
    reopened = "".join(tokens[i].text for i in stack.items)
    return new, reopened + "".join(source(t) for t in tokens[cut:])


def _replay(stack: OpenStack, tokens: list[Token], i: int) -> int | None:
    tok = tokens[i]
    if tok.kind == "start":
        stack.push(i, tok.tag)
    elif tok.kind == "end":
        return stack.pop(tok.tag)
    return None


def _find_cut(tokens: list[Token], scan: Scan) -> int | None:
    header = find_header(scan.lines)
    text_cut = scan.line_tok[header[0]] if header is not None else None
    answered = inline_answers_end(scan.lines, header[1] + 1) if header is not None else None
    if answered is not None:  # answers typed into the quoted original: the cut goes below the last
        text_cut = scan.line_tok[answered + 1] if answered + 1 < len(scan.lines) else None
        if text_cut is None:
            return None
    headed = _headed_blockquotes(scan, header)
    answered_in = {span for span in scan.spans if _answers_inside(tokens, scan, *span)}
    if answered_in or headed:  # a container answered inside gives way to its quotes; a headed blockquote is one
        scan.spans = sorted({*scan.spans, *headed} - answered_in)
        scan.text_after = uncovered_text_suffix(tokens, scan.spans + scan.quiet)
    for start, end in scan.spans:
        if text_cut is not None and text_cut <= start:
            # the header right above the quote, or above its "On … wrote:" (Proton's "Original Message" line)
            heads = header is not None and scan.tok_line[_header_above(scan, start)] <= header[1] + 1
            if heads and _answered_below(scan, end) and is_quote(tokens[start]):
                return None  # the header heads this quote, and the author answers below it
            break
        if scan.text_after[end + 1]:
            if text_cut is not None and text_cut <= end:
                return None  # the header belongs to a quote that is answered below it
            continue  # an inline reply answers below this quote
        return _back_over_opening(tokens, _header_above(scan, start))
    return None if text_cut is None else _back_over_opening(tokens, text_cut)


def _answered_below(scan: Scan, end: int) -> bool:
    """Text below the span ending at token `end`, outside the marked spans, that is more than a list's
    footer (a mailing list appends its "___ / team mailing list" part below a Gmail quote)."""
    if not scan.text_after[end + 1]:
        return False
    below = scan.lines[scan.tok_line[end] if end < len(scan.tok_line) else len(scan.lines) :]
    return footer_start(below) != 0


def _headed_blockquotes(scan: Scan, header: tuple[int, int] | None) -> list[tuple[int, int]]:
    """The plain `<blockquote>`s from the one right under a reply header, or opening with one, on:
    quotes, as a marked one would be (Yandex, Mail.ru, Zoho and Tuta quote so, under a header in
    text; Zimbra, Kopano and Naver put the header inside). Without a header above or inside, a
    plain blockquote is the author's own quotation."""
    if header is None:
        return []
    below = [(s, e) for s, e in scan.blockquotes if scan.tok_line[s] >= header[0]]
    outer = [(s, e) for s, e in below if not any(o < s and e <= oe for o, oe in below)]
    if not outer or scan.tok_line[outer[0][0]] not in (header[0], header[1] + 1):
        return []  # the header neither opens the first blockquote (Zimbra, Kopano, Naver) nor stands above it
    return [span for span in outer if not any(m <= span[0] and span[1] <= me for m, me in scan.spans)]


def _answers_inside(tokens: list[Token], scan: Scan, start: int, end: int) -> bool:
    """Text inside the marker span `start`..`end`, below the first quote in it and outside every
    quote and signature in it: answers typed between the quotes of a container.

    Gmail's inline reply keeps one `gmail_quote` div around the attribution, every
    quoted piece (each its own blockquote) and the answers between them; cut at the
    div, the answers were folded away with the quotes.
    """
    if tokens[start].tag == "blockquote":
        return False
    inner = [(s, e) for s, e in scan.spans + scan.quiet if start < s and e <= end]
    quotes = [s for s, e in scan.spans if start < s and e <= end and is_quote(tokens[s])]  # not a header box
    if not quotes:
        return False
    depth = [0] * (end - start + 2)
    for s, e in inner:
        depth[s - start] += 1
        depth[e - start + 1] -= 1
    running = 0
    first = min(quotes)
    for i in range(start, end + 1):
        running += depth[i - start]
        tok = tokens[i]
        if i > first and not running and tok.kind == "data" and tok.text.strip(" \t\r\n\xa0-"):
            return True
    return False


def _header_above(scan: Scan, start: int) -> int:
    """Move a cut up to an "On … wrote:" line just above the quote (Apple Mail), or a "Bob wrote:"."""
    line = scan.tok_line[start] - 1 if start < len(scan.tok_line) else -1
    if line < 0 or line >= len(scan.lines):
        return start
    if attribution(scan.lines[line]):
        return min(start, scan.line_tok[line])
    for first in range(line, max(-1, line - P.HEADER_MAX_LINES), -1):
        end = on_wrote_header(scan.lines, first)
        if end is not None and end >= line:
            return min(start, scan.line_tok[first])
    return start


def _back_over_opening(tokens: list[Token], cut: int) -> int:
    """Include the elements the quote opens with: start tags, <hr>, <br>, blanks."""
    i = cut
    while i > 0:
        prev = tokens[i - 1]
        if _opens_quote(prev):
            i -= 1
        else:
            break
    return i


def _opens_quote(tok: Token) -> bool:
    """Blank text, a start tag (not body/html) or a comment: part of what opens the quote."""
    if tok.kind == "data":
        return not tok.text.strip()
    if tok.kind == "start":
        return tok.tag not in ("body", "html", "head")
    return tok.kind == "raw" and tok.tag == "#comment"
