"""HTML from mail made safe to show.

`sanitize_html` is strict: an allow-list of formatting tags (nh3/ammonia does
the cleaning), no scripts, handlers, forms, frames, SVG, CSS or `<base>`; links
get rel="noopener noreferrer nofollow" and go where their author meant
(`links`); remote images are not loaded (they are trackers as often as
pictures) but left as a placeholder span carrying the URL, and `cid:` images
are kept for the caller to point at the stored attachment; `without_hidden`
drops what the sender hid. `html_text` makes the text rendering. Both walk a
flat token stream (`reply_tokens`): linear, no recursion.
"""

from __future__ import annotations

import html as htmllib
import re
import urllib.parse

import nh3

from gateway.links import real_url
from gateway.reply_tokens import STACK_SEARCH, VOID, OpenStack, Token, source, tokenize

__all__ = ["sanitize_html", "without_hidden", "rewrite_cid", "cid_references", "refers_to"]

_TAGS = (
    "a abbr b bdi bdo blockquote br caption center cite code col colgroup dd del div dl dt em font h1 h2 h3 h4 h5 "
    "h6 hr i img ins kbd li ol p pre q s small span strike strong sub sup table tbody td tfoot th thead tr tt u ul"
)
ALLOWED_TAGS = frozenset(_TAGS.split())
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
    "span": {"data-src"},
    "*": {"dir", "lang"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "cid"})
DROP_WITH_CONTENT = frozenset(
    {"script", "style", "title", "template", "noscript", "svg", "math", "object", "iframe", "head"}
)
LINK_REL = "noopener noreferrer nofollow"
_REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CID = re.compile(r"^\s*cid:", re.IGNORECASE)


def sanitize_html(html: str) -> str:
    """Safe HTML for display under a strict CSP; see the module docstring."""
    flat, copies = _flattened(html)
    if copies > _GROWTH * len(html) + _GROWTH_ALLOWED:
        flat = _without(flat, REOPENED)
    clean = _clean(flat)
    if len(clean) > _GROWTH * len(html) + _GROWTH_ALLOWED:  # amplified some way `_flattened` does not foresee
        return _clean(_without(flat, REOPENED))
    return clean


def _clean(html: str) -> str:
    return nh3.clean(
        _replace_images(html),
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        allowed_classes={"span": {"remote-image"}},
        attribute_filter=_filter_attribute,
    )


# How deep elements may nest when nh3 sees them (Chromium's parser stops at 512). html5ever, inside
# nh3, looks down its stack of open elements at every block tag: 100,000 nested <div>s (500 kB)
# took nh3 a minute, 300,000 ten, holding a worker while mail waited behind them.
MAX_DEPTH = 256
# How many formatting elements (<b>, <font> …) may be open at once. The parser opens again every
# one left open at each new paragraph (HTML5 "reconstruct the active formatting elements"):
# "<p><b id=1>x</p><p><b id=2>x</p>…" made 224 MB of HTML out of 150 kB, in 48 s.
MAX_FORMATTING = 16
FORMATTING = frozenset({"b", "big", "code", "em", "font", "i", "s", "small", "strike", "strong", "tt", "u"})
REOPENED = FORMATTING | {"a", "nobr"}  # all the parser opens again: one <a href="…5 kB…"> as often as paragraphs follow
# What the HTML parser closes when the next one opens (<p><p>, <li><li>, <td><td>, <a><a>): never
# deep, so not counted, or sloppy mail with hundreds of unclosed <p> would lose its paragraphs.
_UNCOUNTED = frozenset(
    {"p", "li", "dd", "dt", "option", "optgroup", "tr", "td", "th", "tbody", "thead", "tfoot", "caption", "colgroup"}
    | {"a", "nobr"}
)
MAX_ACTIVE = 64  # reopenable elements left open at once, past which HTML is taken to be built to amplify
# Sanitized HTML longer than this is amplified (the parser copied formatting elements, as above),
# not merely re-quoted: it is made again without the elements the parser copies (links among them).
_GROWTH, _GROWTH_ALLOWED = 4, 64 * 1024


def _flattened(html: str) -> tuple[str, int]:
    """`html` with the elements nested deeper than MAX_DEPTH, and formatting elements past
    MAX_FORMATTING open at once, unwrapped (their tags go, their text stays); and at most how
    many characters the parser would add reopening its formatting elements and links.

    One pass over the tokens (an end tag looks at most STACK_SEARCH down); HTML within both
    limits comes back as it was. The estimate holds every such element left open as the
    parser's list of "active formatting elements" may (three alike at most, one <a>), and counts
    it once at each other tag, which may close its parent and so have the parser open it again.
    """
    if html.count("<") <= MAX_FORMATTING:
        return html, 0
    stack, dropped, out = OpenStack(), set[int](), list[Token]()
    active: list[Token] = []  # reopenable elements not closed by their own end tag yet
    open_formatting = active_size = copies = 0
    for i, tok in enumerate(tokenize(html)):
        if tok.kind not in ("start", "end") or tok.tag in VOID:
            out.append(tok)
            continue
        reopened, counted = tok.tag in REOPENED, tok.tag not in _UNCOUNTED
        copies += 0 if reopened else active_size
        if tok.kind == "end":
            active_size -= _close_last(active, tok.tag) if reopened and len(active) <= MAX_ACTIVE else 0
            before, tail = len(stack.tags), stack.tags[-STACK_SEARCH:]
            start = stack.pop(tok.tag) if counted else None
            open_formatting -= sum(t in FORMATTING for t in tail[len(tail) - (before - len(stack.tags)) :])
            if start is None or start not in dropped:
                out.append(tok)
            continue
        if counted:
            if len(stack.items) >= MAX_DEPTH or (tok.tag in FORMATTING and open_formatting >= MAX_FORMATTING):
                dropped.add(i)
            stack.push(i, tok.tag)
            open_formatting += tok.tag in FORMATTING
            if i in dropped:
                continue
        if reopened and len(active) <= MAX_ACTIVE:
            active_size -= _close_last(active, "a") if tok.tag == "a" else 0  # a new link ends the one before
            if sum(t == tok for t in active) < 3:  # "Noah's Ark": a fourth alike replaces the first
                active.append(tok)
                active_size += len(tok.text)
            if len(active) > MAX_ACTIVE:  # as many as only HTML built to amplify leaves open: so taken
                copies, active_size = (_GROWTH + 1) * len(html) + _GROWTH_ALLOWED, 0
        out.append(tok)
    return ("".join(map(source, out)) if dropped else html), copies


def _close_last(active: list[Token], tag: str) -> int:
    """Take the latest `tag` off `active`; its size."""
    for pos in range(len(active) - 1, -1, -1):
        if active[pos].tag == tag:
            return len(active.pop(pos).text)
    return 0


def _without(html: str, tags: frozenset[str]) -> str:
    """`html` without the start and end tags of `tags` (their text stays)."""
    return "".join(source(t) for t in tokenize(html) if t.kind not in ("start", "end") or t.tag not in tags)


_HIDING = r"display\s*:\s*none|visibility\s*:\s*hidden"
_HIDES = re.compile(_HIDING, re.IGNORECASE)
_MAY_HIDE = re.compile(rf"""style\s*=\s*["']?[^"'>]*(?:{_HIDING})""", re.IGNORECASE)


def without_hidden(html: str) -> str:
    """`html` without the elements its sender hid (`display:none`, `visibility:hidden`), in their
    style attribute or by a class the message's own `<style>` hides (`hidden_classes`).

    A mail client hides them: a newsletter's preview line, GitHub's "Message ID",
    a helpdesk's machine-readable copy. Sanitizing drops every style, so kept
    they would be shown, and read into the text rendering too. An element left
    open ends where its parent does, as in a browser.
    """
    classes = hidden_classes(html) if "<style" in html or "<STYLE" in html else frozenset()
    if not classes and not _MAY_HIDE.search(html):
        return html
    tokens = tokenize(html)
    out: list[Token] = []
    stack = OpenStack()
    hidden: tuple[int, int] | None = None  # the hidden element's start index and its depth
    for i, tok in enumerate(tokens):
        if tok.kind == "start":
            stack.push(i, tok.tag)
            if hidden is None and (_HIDES.search(tok.attr("style")) or _has_class(tok, classes)):
                if tok.tag in VOID:
                    continue  # a hidden image: its alt text is not read into the text either
                hidden = (i, len(stack.items) - 1)
                continue
        elif tok.kind == "end":
            start = stack.pop(tok.tag)
            if hidden is not None and len(stack.items) <= hidden[1]:
                closes_it = start == hidden[0]  # else its parent's end tag closed it, and stays
                hidden = None
                if closes_it:
                    continue
        if hidden is None:
            out.append(tok)
    return "".join(map(source, out))


def hidden_classes(html: str) -> frozenset[str]:
    """The classes the message's `<style>` hides for every reader (".preheader { display:none }",
    "span.hidden, .spacer { … }"): rules at the top level only, as one inside `@media` hides for
    some screens, and simple selectors only (a class, or an element and a class)."""
    out: set[str] = set()
    for sheet in _STYLE_SHEET.findall(html):
        if not _HIDES.search(sheet):
            continue
        for rule in _top_level(_without_comments(sheet)).split("}"):  # linear: hostile sheets are long
            selectors, brace, declarations = rule.partition("{")
            if brace and _HIDES.search(declarations):
                out.update(m.group(1) for sel in selectors.split(",") if (m := _CLASS_SELECTOR.match(sel.strip())))
    return frozenset(out)


def _without_comments(css: str) -> str:
    """`css` without its /* comments */; an unclosed one runs to the end."""
    out, at = [], 0
    while (start := css.find("/*", at)) >= 0:
        out.append(css[at:start])
        end = css.find("*/", start + 2)
        if end < 0:
            return "".join(out)
        at = end + 2
    out.append(css[at:])
    return "".join(out)


def _top_level(css: str) -> str:
    """`css` without its at-rule blocks (`@media … { … }`): a scan with a depth counter."""
    out, depth, at_rule = [], 0, False
    start = 0
    for i, ch in enumerate(css):
        if ch == "@" and depth == 0:
            out.append(css[start:i])
            at_rule = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
            if depth == 0 and at_rule:
                at_rule, start = False, i + 1
    if not at_rule:
        out.append(css[start:])
    return "".join(out)


def _has_class(tok: Token, classes: frozenset[str]) -> bool:
    return bool(classes) and not classes.isdisjoint(tok.attr("class").split())


_STYLE_SHEET = re.compile(r"<style\b[^>]{0,500}>([^<]{0,200000})</style", re.IGNORECASE)
_CLASS_SELECTOR = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9]{0,10})?\.([\w-]{1,100})$")


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    """Keep data-src only as an http(s) URL (it is shown, never loaded); links go where their author meant."""
    if element == "a" and attribute == "href":
        return _safe_href(real_url(value))
    if attribute == "data-src" and not re.match(r"^https?://", value, re.IGNORECASE):
        return None
    if element == "img" and attribute == "src" and not _CID.match(value):
        return None  # only cid: images survive; remote ones became placeholders
    return value


# What browsers skip at a URL's start or drop inside it, and nh3 does not: "\u2028javascript:…" and
# "\xa0javascript:…" read to nh3 as relative links (a browser resolves them so too, but a feed reader
# may not); a link whose scheme shows once they go is kept only with an allowed scheme
_URL_JUNK = re.compile("[\x00-\x20\x7f-\xa0\xad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def _safe_href(url: str) -> str | None:
    scheme = _SCHEME.match(_URL_JUNK.sub("", url))
    if scheme is not None and scheme.group(1).lower() not in URL_SCHEMES:
        return None
    return url


def _replace_images(html: str) -> str:
    """Turn remote <img> into a placeholder span before nh3 sees the markup, and take the
    placeholder's marks off any element the sender wrote with them: a `remote-image` of the
    sender's own would load its image on the reader's click past the tracking-pixel check."""
    lowered = html.lower()
    if "<img" not in lowered and "remote-image" not in lowered and "data-src" not in lowered:
        return html
    out: list[str] = []
    for tok in tokenize(html):
        if tok.kind == "start" and tok.tag == "img":
            out.append(_image(tok))
        elif tok.kind == "end" and tok.tag == "img":
            continue
        elif tok.kind == "start" and (tok.attr("data-src") or "remote-image" in tok.attr("class")):
            out.append(f"<{tok.tag}>")  # the sender's attributes go; the element and its text stay
        else:
            out.append(source(tok))
    return "".join(out)


_TINY = re.compile(r"^\s*[0-2](?:\.0+)?\s*(?:px)?\s*$")  # 2×1 too: a tracker's pixel is no picture at 2 px
_HIDDEN = re.compile(
    rf"{_HIDING}|(?:^|[;\s])(?:max-)?(?:width|height)\s*:\s*[01](?:px)?\b|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$)",
    re.IGNORECASE,
)


def _image(tok: Token) -> str:
    src, alt = tok.attr("src").strip(), tok.attr("alt").strip()
    label = htmllib.escape(f"[image: {alt}]" if alt else "[image]")
    if _CID.match(src):
        return f'<img src="{htmllib.escape(src)}" alt="{htmllib.escape(alt)}">'
    if _REMOTE.match(src) and _is_tracking_pixel(tok):
        return ""  # nothing for a reader to see, only a sender to tell: dropped, not offered
    if _REMOTE.match(src):
        url = "https:" + src if src.startswith("//") else src
        return f'<span class="remote-image" data-src="{htmllib.escape(url)}">{label}</span>'
    return f"<span>{label}</span>"  # data:, javascript: or nothing: not shown


def _is_tracking_pixel(tok: Token) -> bool:
    """A remote image at most 2×2 pixels, or hidden (no opacity, a 1-pixel maximum size): an open
    tracker, not a picture."""
    sized = bool(_TINY.match(tok.attr("width"))) and bool(_TINY.match(tok.attr("height")))
    return sized or bool(_HIDDEN.search(tok.attr("style")))


def _cid_key(cid: str) -> str:
    return urllib.parse.unquote(cid).strip().strip("<>").lower()


_CID_REFERENCE = re.compile(r"""\bcid:([^"'\s<>)]{1,500})""", re.IGNORECASE)


def cid_references(html: str) -> set[str]:
    """The Content-IDs `html` points at ("cid:…"), unquoted and case-blind, as `rewrite_cid` matches them."""
    return {_cid_key(htmllib.unescape(m)) for m in _CID_REFERENCE.findall(html)} if "cid:" in html.lower() else set()


def refers_to(cids: set[str], content_id: str) -> bool:
    return _cid_key(content_id) in cids


_CID_SRC = re.compile(r'(\ssrc=")cid:([^"]*)(")', re.IGNORECASE)


def rewrite_cid(html: str, urls: dict[str, str]) -> str:
    """Point `cid:` images of sanitized HTML at their stored attachments, by Content-ID.

    A cid: with no matching attachment loses its src (a broken image icon is
    all the reader would get). The URL is %-encoded (RFC 2392: "cid:part2%40host") and clients
    differ in case ("Image001.PNG@…"): matched as written, else unquoted and case-blind.
    """
    loose = {_cid_key(cid): url for cid, url in urls.items()}

    def swap(m: re.Match[str]) -> str:
        cid = htmllib.unescape(m.group(2)).strip("<>")
        url = urls.get(cid) or loose.get(_cid_key(cid))
        return f"{m.group(1)}{htmllib.escape(url)}{m.group(3)}" if url else ' data-missing-src=""'

    return _CID_SRC.sub(swap, html)
