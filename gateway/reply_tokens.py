"""A flat token stream for HTML, shared by reply_html and sanitize: cut and render without a tree.

Mail HTML is hostile (unclosed tags, nesting thousands deep), so nothing here
builds a tree or recurses: `tokenize` returns a list of tokens from the stdlib
`html.parser` (linear, never raises on broken markup), and `OpenStack` tracks
the open elements with a bounded search for mismatched end tags.
"""

from __future__ import annotations

from dataclasses import dataclass
import html as htmllib
import re

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


_TAG_OPEN = re.compile(r"<([a-zA-Z][^\s/>\x00]{0,64})")
_ATTR = re.compile(
    r"""[\s/]*([^\s"'>/=\x00]{1,256})(?:\s*=\s*(?:"([^"]{0,65536})"|'([^']{0,65536})'|([^\s>]{0,65536})))?"""
)
_TAG_CLOSE = re.compile(r"[\s/]*>")
_END_TAG = re.compile(r"</([a-zA-Z][^\s/>\x00]{0,64})[^>]{0,1024}>")
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "noembed", "noframes", "iframe"})
MAX_ATTRS = 256


class _Scanner:
    """A forgiving HTML tokenizer in the spirit of the HTML5 spec, linear time.

    The stdlib `html.parser` rescans from an unclosed "<a" to the end of the
    input for every such tag (quadratic on "<a <a <a …"), so this one finds each
    ">" or "-->" once and caps every pattern, and an unclosable "<" is text.
    """

    def __init__(self, html: str) -> None:
        self.s = html
        self.tokens: list[Token] = []
        self.no_gt_after = len(html) + 1  # positions >= this have no ">" after them

    def run(self) -> list[Token]:
        s, i, n = self.s, 0, len(self.s)
        while i < n:
            lt = s.find("<", i)
            if lt < 0:
                self._data(s[i:])
                break
            if lt > i:
                self._data(s[i:lt])
            i = self._markup(lt)
        return self.tokens

    def _data(self, text: str) -> None:
        if text:
            self.tokens.append(Token("data", "", (), htmllib.unescape(text)))

    def _find_gt(self, i: int) -> int:
        if i >= self.no_gt_after:
            return -1
        j = self.s.find(">", i)
        if j < 0:
            self.no_gt_after = i
        return j

    def _markup(self, lt: int) -> int:
        s = self.s
        if s.startswith("<!--", lt):
            end = s.find("-->", lt + 4)
            end = len(s) if end < 0 else end + 3
            self.tokens.append(Token("raw", "#comment", (), s[lt:end]))
            return end
        if s.startswith(("<!", "<?"), lt):
            gt = self._find_gt(lt)
            if gt < 0:
                self._data(s[lt:])
                return len(s)
            self.tokens.append(Token("raw", "#decl", (), s[lt : gt + 1]))
            return gt + 1
        if s.startswith("</", lt):
            m = _END_TAG.match(s, lt)
            if m:
                self.tokens.append(Token("end", m.group(1).lower(), (), f"</{m.group(1).lower()}>"))
                return m.end()
        else:
            m = _TAG_OPEN.match(s, lt)
            if m:
                end = self._start_tag(m.group(1).lower(), m.end(), lt)
                if end is not None:
                    return end
        self._data("<")
        return lt + 1

    def _start_tag(self, tag: str, pos: int, lt: int) -> int | None:
        s, attrs = self.s, []
        for _ in range(MAX_ATTRS):
            close = _TAG_CLOSE.match(s, pos)
            if close:
                break
            m = _ATTR.match(s, pos)
            if not m:
                return None
            value = next((g for g in m.group(2, 3, 4) if g is not None), "")
            attrs.append((m.group(1).lower(), htmllib.unescape(value)))
            pos = m.end()
        else:
            return None
        pos = close.end()
        self.tokens.append(Token("start", tag, tuple(attrs), s[lt:pos]))
        if tag in _RAW_TEXT and not s[lt:pos].endswith("/>"):
            return self._raw_text(tag, pos)
        return pos

    def _raw_text(self, tag: str, pos: int) -> int:
        m = re.compile(rf"</{tag}[^>]{{0,1024}}>", re.IGNORECASE).search(self.s, pos)
        end = m.start() if m else len(self.s)
        if end > pos:
            self.tokens.append(Token("data", "", (), self.s[pos:end]))
        if m:
            self.tokens.append(Token("end", tag, (), f"</{tag}>"))
            return m.end()
        return end


def tokenize(html: str) -> list[Token]:
    """Tokens of `html`; never raises, linear in its length, whatever the markup."""
    return _Scanner(html).run()


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
