"""What an HTML body holds for reply_html's cut: its text lines, the elements clients mark quotes
and signatures with, and where each starts and ends.

The markers, by class, id or name: Gmail's `gmail_quote`, Apple's and Thunderbird's
`<blockquote type="cite">`, Thunderbird's `moz-cite-prefix`, Outlook web's `divRplyFwdMsg`,
Outlook for Mac's `OLK_SRC_BODY_SECTION`, the Outlook apps' and Spark's `messageReplySection`,
Yahoo's `yahoo_quoted` (with the "ydp…" prefix it adds), ProtonMail's `protonmail_quote`,
GMX's `quote` and `quoted-content`, web.de's `sub-body-container`, NetEase Mail Master's
`ntes-mailmaster-quote`; the signatures' (`gmail_signature`, `moz-signature`,
Proton's signature block). One pass over the flat token stream of `reply_tokens`: linear,
no recursion.
"""

from __future__ import annotations

import re

from gateway.reply_tokens import BLOCK, OpenStack, Token, tokenize

# Yahoo prefixes its class names and ids with "ydp" and a number when it quotes its own mail again
_QUOTE_CLASSES = re.compile(
    r"(?:\b|\bydp[0-9a-f]+)(?:gmail_quote|yahoo_quoted|moz-cite-prefix|protonmail_quote|ntes-mailmaster-quote)\b"
)
# signatures below a quote do not make it an inline reply (Gmail, Thunderbird, Outlook web, Proton)
_SIGNATURE = re.compile(
    r"\b(?:gmail_signature(?:_prefix)?|moz-signature|signature|protonmail_signature_block|missive_signature)\b"
    r"|^Signature$",
    re.I,
)
# markers that hold the quote (or, Thunderbird's, the attribution right above it), unlike Outlook's
# divRplyFwdMsg, which holds the header and leaves the history below it
_HOLDS_QUOTE = re.compile(
    r"(?:\b|\bydp[0-9a-f]+)(?:moz-cite-prefix|gmail_quote|protonmail_quote|yahoo_quoted|ntes-mailmaster-quote)\b"
)
_HOLDS_QUOTE_IDS = re.compile(
    r"^(?:(?:ydp[0-9a-f]+)?yahoo_quoted\w*|mail-editor-reference-message-container|sub-body-container)$", re.I
)
# Outlook's apps and Spark: "messageReplySection"; GMX and web.de: "quote" round the header and the
# quoted message, "quoted-content" round the message (each piece of it, in an inline reply)
_QUOTE_NAMES = frozenset({"messageReplySection", "quote", "quoted-content"})
_QUOTE_IDS = re.compile(
    r"^(?:divRplyFwdMsg|OLK_SRC_BODY_SECTION|(?:ydp[0-9a-f]+)?yahoo_quoted\w*|isForwardContent"
    r"|mail-editor-reference-message-container|sub-body-container)$",
    re.I,
)
_SPACES = re.compile(r"\s+")


def _is_marker(tok: Token) -> bool:
    if tok.kind != "start":
        return False
    if tok.tag == "blockquote" and tok.attr("type").lower() == "cite":
        return True
    return bool(
        _QUOTE_CLASSES.search(tok.attr("class")) or _QUOTE_IDS.match(tok.attr("id")) or tok.attr("name") in _QUOTE_NAMES
    )


def html_tokens(html: str) -> list[Token]:
    """The tokens, with text inside <pre> split at its newlines: lines there are lines here too.

    Thunderbird's plain-text mode sends its whole body, quote and all, as one <pre>.
    """
    tokens = tokenize(html)
    if "<pre" not in html and "<PRE" not in html:
        return tokens
    out: list[Token] = []
    depth = 0
    for tok in tokens:
        if tok.tag == "pre":
            depth = depth + 1 if tok.kind == "start" else max(0, depth - 1)
        if depth and tok.kind == "data" and "\n" in tok.text:
            out.extend(Token("data", "", (), piece) for piece in tok.text.splitlines(keepends=True))
        else:
            out.append(tok)
    return out


_NOT_SHOWN = frozenset({"style", "script", "title"})  # their content is one data token after the start tag


class Scan:
    """One pass over the tokens: text lines, their first tokens, marker spans."""

    def __init__(self, tokens: list[Token]) -> None:
        self.lines: list[str] = []
        self.line_tok: list[int] = []
        self.tok_line: list[int] = []
        self.spans: list[tuple[int, int]] = []  # marker start, end (inclusive)
        current: list[str] = []
        start_tok = 0
        stack = OpenStack()
        open_markers: set[int] = set()
        self.quiet: list[tuple[int, int]] = []  # signature spans: no new text in there
        self.blockquotes: list[tuple[int, int]] = []  # plain <blockquote>s, no marker: quotes only under a header
        open_quiet: set[int] = set()
        in_pre = 0
        for i, tok in enumerate(tokens):
            kind = tok.kind
            if tok.tag == "pre":
                in_pre = in_pre + 1 if kind == "start" else max(0, in_pre - 1)
            if kind == "data" and not (i and tokens[i - 1].kind == "start" and tokens[i - 1].tag in _NOT_SHOWN):
                current.append(tok.text)
                self.tok_line.append(len(self.lines))
                if in_pre and tok.text.endswith("\n"):  # a line of a <pre> (see _tokens)
                    self._flush(current, start_tok)
                    current, start_tok = [], i + 1
                continue
            if kind in ("raw", "data"):  # a comment, or a style sheet or script: no text a reader sees
                self.tok_line.append(len(self.lines))
                continue
            if tok.tag in BLOCK or tok.tag == "br":
                self._flush(current, start_tok)
                current, start_tok = [], i if kind == "start" and tok.tag != "br" else i + 1
            self.tok_line.append(len(self.lines))
            if kind == "start":
                stack.push(i, tok.tag)
                if tok.attrs:  # markers and signatures are named by attributes
                    if _is_marker(tok):
                        open_markers.add(i)
                    if _SIGNATURE.search(tok.attr("class")) or _SIGNATURE.search(tok.attr("id")) or _is_app_line(tok):
                        open_quiet.add(i)
                continue
            closed = stack.pop(tok.tag)
            if closed is not None and closed in open_markers:
                open_markers.discard(closed)
                self.spans.append((closed, i))
            elif closed is not None and tok.tag == "blockquote":
                self.blockquotes.append((closed, i))
            if closed is not None and closed in open_quiet:
                open_quiet.discard(closed)
                self.quiet.append((closed, i))
        self._flush(current, start_tok)
        self.spans.extend((m, len(tokens) - 1) for m in open_markers)
        self.spans.sort()
        self.quiet.extend((m, len(tokens) - 1) for m in open_quiet)
        self.text_after = uncovered_text_suffix(tokens, self.spans + self.quiet)

    def _flush(self, parts: list[str], start_tok: int) -> None:
        text = _SPACES.sub(" ", "".join(parts)).strip()
        if text:
            self.lines.append(text)
            self.line_tok.append(start_tok)


def uncovered_text_suffix(tokens: list[Token], spans: list[tuple[int, int]]) -> list[bool]:
    """suffix[i]: some text token at or after i lies outside every marker span."""
    depth = [0] * (len(tokens) + 1)
    for start, end in spans:
        depth[start] += 1
        depth[end + 1] -= 1
    covered, running = [False] * len(tokens), 0
    for i in range(len(tokens)):
        running += depth[i]
        covered[i] = running > 0
    suffix = [False] * (len(tokens) + 1)
    for i in range(len(tokens) - 1, -1, -1):
        tok = tokens[i]
        own = tok.kind == "data" and not covered[i] and bool(tok.text.strip(" \t\r\n\xa0-"))
        suffix[i] = own or suffix[i + 1]
    return suffix


def _is_app_line(tok: Token) -> bool:
    return tok.attr("name") == "messageSignatureSection"  # Outlook mobile's "Get Outlook for iOS"


def is_quote(tok: Token) -> bool:
    """A marker that holds the quote itself, or Thunderbird's attribution right above it; not a
    container that holds the header and leaves the history below it (Outlook's divRplyFwdMsg)."""
    return (
        tok.tag == "blockquote"
        or _HOLDS_QUOTE.search(tok.attr("class")) is not None
        or _HOLDS_QUOTE_IDS.match(tok.attr("id")) is not None
        or tok.attr("name") in _QUOTE_NAMES
    )
