"""A flat token stream for HTML, shared by reply_html and sanitize: cut and render without a tree.

Mail HTML is hostile (unclosed tags, nesting thousands deep), so nothing here
builds a tree or recurses: `tokenize` returns a list of tokens from the stdlib
`html.parser` (linear, never raises on broken markup), and `OpenStack` tracks
the open elements with a bounded search for mismatched end tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr basefont frame isindex keygen".split()
)
BLOCK = frozenset(
    "address article aside blockquote body center dd details dialog dir div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hr html li main menu nav ol p pre section summary table tbody td "
    "tfoot th thead tr ul title".split()
)
STACK_SEARCH = 64  # how deep an end tag may look for its start tag


@dataclass(frozen=True)
class Token:
    """One event of the parse: kind is start, end, data, or raw (comment, doctype, …)."""

    kind: str
    tag: str = ""
    attrs: tuple[tuple[str, str], ...] = ()
    text: str = ""  # decoded text for data; source text otherwise

    def attr(self, name: str) -> str:
        for key, value in self.attrs:
            if key == name:
                return value
        return ""


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[Token] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pairs = tuple((k, v or "") for k, v in attrs)
        self.tokens.append(Token("start", tag, pairs, self.get_starttag_text() or ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pairs = tuple((k, v or "") for k, v in attrs)
        self.tokens.append(Token("start", tag, pairs, self.get_starttag_text() or ""))
        if tag not in VOID:
            self.tokens.append(Token("end", tag, (), ""))

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append(Token("end", tag, (), f"</{tag}>"))

    def handle_data(self, data: str) -> None:
        self.tokens.append(Token("data", "", (), data))

    def handle_comment(self, data: str) -> None:
        self.tokens.append(Token("raw", "#comment", (), f"<!--{data}-->"))

    def handle_decl(self, decl: str) -> None:
        self.tokens.append(Token("raw", "#decl", (), f"<!{decl}>"))

    def handle_pi(self, data: str) -> None:
        self.tokens.append(Token("raw", "#pi", (), f"<?{data}>"))

    def unknown_decl(self, data: str) -> None:
        self.tokens.append(Token("raw", "#decl", (), f"<![{data}]>"))


def tokenize(html: str) -> list[Token]:
    """Tokens of `html`; never raises, whatever the markup."""
    parser = _Collector()
    parser.feed(html)
    parser.close()
    return parser.tokens


class OpenStack:
    """The currently open elements, as indexes into the token list."""

    def __init__(self) -> None:
        self.items: list[int] = []
        self.tags: list[str] = []

    def push(self, index: int, tag: str) -> None:
        if tag not in VOID:
            self.items.append(index)
            self.tags.append(tag)

    def pop(self, tag: str) -> int | None:
        """Close `tag`; returns the start index it closes, None for a stray end tag."""
        limit = max(0, len(self.tags) - STACK_SEARCH)
        for pos in range(len(self.tags) - 1, limit - 1, -1):
            if self.tags[pos] == tag:
                start = self.items[pos]
                del self.items[pos:], self.tags[pos:]
                return start
        return None


def source(token: Token) -> str:
    """Source text of a token (data re-escaped)."""
    if token.kind == "data":
        return token.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return token.text
