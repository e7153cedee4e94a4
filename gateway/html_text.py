"""HTML made readable as plain text: for snippets, search, the digest's text part and reply splitting.

`html_to_text` walks the flat token stream of `reply_tokens` once: nesting is
tracked with counters, never recursion, so hostile markup costs linear time.
"""

from __future__ import annotations

import re

from gateway.links import real_url
from gateway.reply_tokens import VOID, Token, tokenize

__all__ = ["html_to_text", "render_text"]


def html_to_text(html: str) -> str:
    """A readable plain-text rendering of `html`.

    Paragraphs and headings become blank-line separated, `<br>`, `<div>` and table
    rows line breaks (a `<br>` on a line of its own an empty line), list items "- "
    lines, blockquotes "> " lines, links "text (url)" when the URL adds something;
    `<head>`, `<style>`, `<script>` are skipped. One pass; nesting is tracked with
    counters, never recursion.
    """
    return render_text(tokenize(html))


SKIP = frozenset({"head", "style", "script", "title", "template", "noscript", "svg", "math", "object", "iframe"})
PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "pre", "hr"})
LINE = frozenset(
    {
        "div",
        "br",
        "tr",
        "li",
        "dt",
        "dd",
        "address",
        "center",
        "section",
        "article",
        "header",
        "footer",
        "caption",
        "form",
        "fieldset",
        "blockquote",
        "body",
        "html",
    }
)
CELL = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\n\r\f\v\u00a0\u200b]+")
_BULLET = re.compile(r"- |\d{1,9}\. ")
_BLANKS = re.compile(r"\n{3,}")


class _Writer:
    """Accumulates output lines, each with the blockquote depth it was written at."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self.current: list[str] = []
        self.depth = 0
        self.cell_start = 0  # the lines written when the last table cell opened
        self.spacer = False  # the line holds nothing but no-break spaces so far

    def text(self, value: str) -> None:
        if not self.current:
            value = value.lstrip(" ")
        if value:
            self.current.append(value)

    def newline(self) -> None:
        line = "".join(self.current).rstrip(" ")
        self.current = []
        if line:
            self.lines.append((self.depth, line))
        elif self.spacer and self.lines and self.lines[-1][1] != "":
            self.lines.append((self.depth, ""))  # "<div>&nbsp;</div>": an empty line, as a browser shows it
        self.spacer = False

    def line_break(self) -> None:
        """`<br>`: ends the line; one with nothing before it is an empty line, as a browser shows
        it (`a<br><br>b`, Gmail's `<div><br></div>` between paragraphs)."""
        if self.current:
            self.newline()
        elif self.lines and self.lines[-1][1] != "":
            self.lines.append((self.depth, ""))

    def paragraph(self) -> None:
        self.newline()
        if self.lines and self.lines[-1][1] != "":
            self.lines.append((self.depth, ""))

    def render(self) -> str:
        self.newline()
        out = []
        for depth, line in self.lines:
            prefix = "> " * depth
            out.append((prefix + line) if line else prefix.rstrip())
        return _BLANKS.sub("\n\n", "\n".join(out)).strip("\n")


def render_text(tokens: list[Token]) -> str:
    """Plain text for a token list; see the module docstring."""
    w = _Writer()
    skip = 0  # depth inside elements whose content is not text
    pre = 0
    links: list[tuple[str, int]] = []  # (href, length of output when the link opened)
    link_text: list[list[str]] = []
    ol_counters: list[int] = []
    for tok in tokens:
        if tok.kind == "start" and tok.tag in SKIP and tok.tag not in VOID:
            skip += 1
            continue
        if tok.kind == "end" and tok.tag in SKIP:
            skip = max(0, skip - 1)
            continue
        if skip:
            continue
        if tok.kind == "data":
            _data(w, tok.text, pre > 0)
            if link_text:
                link_text[-1].append(tok.text)
        elif tok.kind == "start":
            pre += tok.tag == "pre"
            _start(w, tok, ol_counters)
            if tok.tag == "a":
                links.append((tok.attr("href").strip(), 0))
                link_text.append([])
        elif tok.kind == "end":
            pre = max(0, pre - (tok.tag == "pre"))
            _end(w, tok.tag, ol_counters)
            if tok.tag == "a" and links:
                href, _ = links.pop()
                _link_suffix(w, href, "".join(link_text.pop()))
    return w.render()


def _data(w: _Writer, text: str, in_pre: bool) -> None:
    if in_pre:
        lines = text.replace("\r\n", "\n").split("\n")
        for i, line in enumerate(lines):
            if i:
                w.newline()
            if line:
                w.current.append(line)
        return
    if _MAY_BE_PADDING.search(text):
        text = _PADDING.sub("", text)
    if "\xa0" in text and not w.current and not text.replace("\xa0", " ").strip():
        w.spacer = True
    w.text(_SPACES.sub(" ", text))


# What newsletters pad their preview line with so a client shows none of the body after it ("&#847;
# &zwnj; &nbsp;" many times): the combining grapheme joiner, soft hyphens, zero-width no-break spaces,
# and zero-width non-joiners not between two letters, where Persian and Indic words need them
_MAY_BE_PADDING = re.compile("[\u034f\u00ad\ufeff\u200c]")
_PADDING = re.compile("[\u034f\u00ad\ufeff]+|(?<![^\\W\\d_])\u200c+|\u200c+(?![^\\W\\d_])")


def _start(w: _Writer, tok: Token, ol_counters: list[int]) -> None:
    tag = tok.tag
    if tag == "blockquote":
        w.paragraph()  # a blank line above the quote, not a ">" one inside it
        w.depth += 1
    elif tag == "li":
        w.newline()
        if ol_counters and ol_counters[-1] >= 0:
            ol_counters[-1] += 1
            w.text(f"{ol_counters[-1]}. ")
        else:
            w.text("- ")
    elif tag in ("ol", "ul"):
        w.paragraph()
        ol_counters.append(0 if tag == "ol" else -1)
    elif (tag in PARAGRAPH or tag in LINE) and tag != "br" and _BULLET.fullmatch("".join(w.current)):
        pass  # a paragraph opening a list item ("<li><p>", Substack's and Ghost's lists) stays on the bullet's line
    elif tag in PARAGRAPH:
        w.paragraph()
    elif tag == "br":
        w.line_break()
    elif tag in LINE:
        w.newline()
    elif tag in CELL:
        if w.current and len(w.lines) > w.cell_start:
            w.paragraph()  # the cell before ran over lines (a newsletter's cards side by side): a block of its own
        elif w.current:
            w.text("  ")
        w.cell_start = len(w.lines)
    elif tag == "img":
        alt = tok.attr("alt").strip()
        if alt:
            w.text(f"[{alt}]")


def _end(w: _Writer, tag: str, ol_counters: list[int]) -> None:
    if tag == "blockquote":
        w.newline()
        while w.lines and w.lines[-1] == (w.depth, ""):
            w.lines.pop()  # the quote's last paragraph's blank line: a blank line below it instead
        w.depth = max(0, w.depth - 1)
        w.paragraph()
    elif tag in ("ol", "ul"):
        if ol_counters:
            ol_counters.pop()
        w.paragraph()
    elif tag in PARAGRAPH:
        w.paragraph()
    elif tag in LINE:
        w.newline()


def _link_suffix(w: _Writer, href: str, text: str) -> None:
    href, shown = real_url(href), _SPACES.sub(" ", text).strip()
    if not href or href.startswith("#") or not re.match(r"^(?:https?|mailto|ftp):", href, re.I):
        return
    bare = re.sub(r"^mailto:", "", href, flags=re.I)
    if shown in (href, bare) or shown.rstrip("/") == href.rstrip("/") or not shown:
        return
    if re.sub(r"^https?://", "", href, flags=re.I).rstrip("/") == re.sub(r"^https?://", "", shown).rstrip("/"):
        return
    while w.current and w.current[-1].endswith(" "):  # a button's padding ("Browse&nbsp;&nbsp;")
        w.current[-1] = w.current[-1].rstrip(" ")
        if not w.current[-1]:
            w.current.pop()
    w.text(f" ({href})")
