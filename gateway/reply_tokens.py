"""A flat token stream for HTML, shared by reply_html and sanitize: cut and render without a tree.

Mail HTML is hostile (unclosed tags, nesting thousands deep, "<a <a <a …"), so
nothing here builds a tree or recurses: `tokenize` is a small linear-time
scanner (never raises), and `OpenStack` tracks the open elements with a bounded
search for mismatched end tags.
"""

from __future__ import annotations

import html as htmllib
import re
from typing import NamedTuple

VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "basefont",
        "frame",
        "isindex",
        "keygen",
    ]
)
BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
        "title",
    ]
)
STACK_SEARCH = 64  # how deep an end tag may look for its start tag


class Token(NamedTuple):
    """One event of the parse: kind is start, end, data, or raw (comment, doctype, …).

    A named tuple: a long message makes tens of thousands, and a frozen dataclass took
    twice as long to make each.
    """

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
_SKIP = re.compile(r"[\s/]*")
_SPACE = re.compile(r"\s*")
_NAME = re.compile(r"""[^\s"'>/=\x00]{1,256}""")
_UNQUOTED = re.compile(r"[^\s>]*")
_END_TAG = re.compile(r"</([a-zA-Z][^\s/>\x00]{0,64})[^>]{0,1024}>")
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "noembed", "noframes", "iframe"})
MAX_ATTRS = 256
# A whole start tag as the scanner below reads it when whitespace separates
# its attributes: one match in C instead of three or four per attribute. An
# empty value only at the tag's end: after "= " the scanner takes the next
# word as the value ('<a href= href = ";=">' read two ways otherwise).
# Anything else (a quote never closed, "/" or nothing between attributes, a
# name past its cap) does not match and takes the scanner's way;
# tests/test_reply_tokens.py holds the two equal.
_ATTR = r"""([^\s"'>/=\x00]{1,256})(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"'][^\s>]*)|(?=\s*/?>|$)))?"""
_WHOLE_TAG = re.compile(rf"<([a-zA-Z][^\s/>\x00]{{0,64}})((?:\s+{_ATTR})*)\s*/?>")
_ATTRS = re.compile(_ATTR)


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
        self.quote_cache: dict[str, tuple[int, int]] = {}
        self.whole_failed_before = -1  # no one-match attempt for a "<" before this ">"
        self.dead: set[int] = set()  # attribute starts from which a start tag never closes
        self.pending: list[str] = []  # adjacent text, unescaped once

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
        self._emit(Token("raw", "#eof", (), ""))
        self.tokens.pop()
        return self.tokens

    def _data(self, text: str) -> None:
        if text:
            self.pending.append(text)

    def _emit(self, token: Token) -> None:
        if self.pending:
            self.tokens.append(Token("data", "", (), htmllib.unescape("".join(self.pending))))
            self.pending = []
        self.tokens.append(token)

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
            self._emit(Token("raw", "#comment", (), s[lt:end]))
            return end
        if s.startswith(("<!", "<?"), lt):
            gt = self._find_gt(lt)
            if gt < 0:
                self._data(s[lt:])
                return len(s)
            self._emit(Token("raw", "#decl", (), s[lt : gt + 1]))
            return gt + 1
        if s.startswith("</", lt):
            m = _END_TAG.match(s, lt)
            if m:
                self._emit(Token("end", m.group(1).lower(), (), f"</{m.group(1).lower()}>"))
                return m.end()
        else:
            whole = self._whole_match(lt)
            if whole:
                return self._whole_tag(whole)
            m = _TAG_OPEN.match(s, lt)
            if m:
                after = self._start_tag(m.group(1).lower(), m.end(), lt)
                if after is not None:
                    return after
        self._data("<")
        return lt + 1

    def _whole_match(self, lt: int) -> re.Match[str] | None:
        """The start tag at lt in one match when it ends at the next ">".

        Tried once per ">": a failure there skips the attempt for every "<"
        before it, so no stretch of the input is matched twice.
        """
        if lt < self.whole_failed_before:
            return None
        gt = self._find_gt(lt)
        if gt < 0:
            return None
        m = _WHOLE_TAG.fullmatch(self.s, lt, gt + 1)
        if m is None:
            self.whole_failed_before = gt
        return m

    def _whole_tag(self, m: re.Match[str]) -> int:
        tag, unescape = m.group(1).lower(), htmllib.unescape
        attrs = (
            tuple(
                (name.lower(), unescape(double or single or bare))
                for name, double, single, bare in _ATTRS.findall(m.group(2))[:MAX_ATTRS]
            )
            if m.group(2)
            else ()
        )
        return self._started(tag, attrs, m.start(), m.end())

    def _started(self, tag: str, attrs: tuple[tuple[str, str], ...], lt: int, pos: int) -> int:
        """Emit the start tag s[lt:pos]; raw-text elements take everything up to their end tag."""
        self._emit(Token("start", tag, attrs, self.s[lt:pos]))
        if tag in _RAW_TEXT and not self.s[lt:pos].endswith("/>"):
            return self._raw_text(tag, pos)
        return pos

    def _start_tag(self, tag: str, pos: int, lt: int) -> int | None:
        """Parse attributes up to the closing ">" (quotes may hide a ">"); None if unclosed."""
        if self._find_gt(pos) < 0:
            return None
        walked: list[int] = []
        read = self._attributes(pos, walked)
        if read is None:
            # The walk from each of these depends on nothing but the position: a
            # later "<" reaching one fails the same way, so it stops there at once
            # ('"<a " * 4000 + \'x=">\'' took 14 s without this, each "<" walking to the quote).
            self.dead.update(walked)
            return None
        attrs, end = read
        return self._started(tag, attrs, lt, end)

    def _attributes(self, pos: int, walked: list[int]) -> tuple[tuple[tuple[str, str], ...], int] | None:
        """The attributes from pos and the position after the closing ">"; None if unclosed."""
        s, n = self.s, len(self.s)
        attrs: list[tuple[str, str]] = []
        while pos < n:
            pos = _SKIP.match(s, pos).end()  # type: ignore[union-attr]
            if pos >= n or pos in self.dead:
                return None
            walked.append(pos)
            if s[pos] == ">":
                break
            m = _NAME.match(s, pos)
            if not m:
                pos += 1  # a stray quote or "=": the spec makes it part of a name; we drop it
                continue
            name, pos = m.group(0).lower(), _SPACE.match(s, m.end()).end()  # type: ignore[union-attr]
            value = ""
            if pos < n and s[pos] == "=":
                pos = _SPACE.match(s, pos + 1).end()  # type: ignore[union-attr]
                if pos < n and s[pos] in "\"'":
                    close = self._find_quote(s[pos], pos + 1)
                    if close < 0:
                        return None
                    value, pos = s[pos + 1 : close], close + 1
                else:
                    u = _UNQUOTED.match(s, pos)
                    value, pos = u.group(0), u.end()  # type: ignore[union-attr]
            if len(attrs) < MAX_ATTRS:
                attrs.append((name, htmllib.unescape(value)))
        else:
            return None
        return tuple(attrs), pos + 1

    def _find_quote(self, quote: str, pos: int) -> int:
        """Next `quote` at or after pos, remembering the last answer (keeps scans linear)."""
        since, found = self.quote_cache.get(quote, (-1, -2))
        if since <= pos <= found or (found == -1 and pos >= since >= 0):
            return found
        found = self.s.find(quote, pos)
        self.quote_cache[quote] = (pos, found)
        return found

    def _raw_text(self, tag: str, pos: int) -> int:
        m = re.compile(rf"</{tag}[^>]{{0,1024}}>", re.IGNORECASE).search(self.s, pos)
        end = m.start() if m else len(self.s)
        if end > pos:
            self.tokens.append(Token("data", "", (), self.s[pos:end]))
        if m:
            self._emit(Token("end", tag, (), f"</{tag}>"))
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
