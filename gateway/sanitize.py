"""HTML from mail made safe to show, and made readable as text.

`sanitize_html` is strict: an allow-list of formatting tags (nh3/ammonia does
the cleaning), no scripts, handlers, forms, frames, SVG, CSS or `<base>`; links
get rel="noopener noreferrer nofollow"; remote images are not loaded (they are
trackers as often as pictures) but left as a placeholder span carrying the URL,
and `cid:` images are kept for the caller to point at the stored attachment.
`html_to_text` renders a body as plain text for search, digests and reply
splitting. Both walk a flat token stream (`html_tokens`): linear, no recursion.
"""

from __future__ import annotations

import html as htmllib
import re

import nh3

from gateway.html_tokens import Token, source, tokenize
from gateway.html_text import render_text

__all__ = ["sanitize_html", "html_to_text"]

ALLOWED_TAGS = frozenset(
    "a abbr b blockquote br caption center cite code col colgroup dd del div dl dt em font h1 h2 h3 h4 h5 h6 "
    "hr i img ins kbd li ol p pre q s small span strike strong sub sup table tbody td tfoot th thead tr tt "
    "u ul".split()
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
    "span": {"data-src"},
    "*": {"dir"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "cid"})
DROP_WITH_CONTENT = frozenset({"script", "style", "title", "template", "noscript", "svg", "math", "object",
                               "iframe", "head"})
LINK_REL = "noopener noreferrer nofollow"
_REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CID = re.compile(r"^\s*cid:", re.IGNORECASE)


def sanitize_html(html: str) -> str:
    """Safe HTML for display under a strict CSP; see the module docstring."""
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


def html_to_text(html: str) -> str:
    """A readable plain-text rendering of `html` (see `html_text.render_text`)."""
    return render_text(tokenize(html))


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    """Keep data-src only as an http(s) URL (it is shown, never loaded)."""
    if attribute == "data-src" and not re.match(r"^https?://", value, re.IGNORECASE):
        return None
    if element == "img" and attribute == "src" and not _CID.match(value):
        return None  # only cid: images survive; remote ones became placeholders
    return value


def _replace_images(html: str) -> str:
    """Turn remote <img> into a placeholder span before nh3 sees the markup."""
    if "<img" not in html.lower():
        return html
    out: list[str] = []
    for tok in tokenize(html):
        if tok.kind == "start" and tok.tag == "img":
            out.append(_image(tok))
        elif tok.kind == "end" and tok.tag == "img":
            continue
        else:
            out.append(source(tok))
    return "".join(out)


def _image(tok: Token) -> str:
    src, alt = tok.attr("src").strip(), tok.attr("alt").strip()
    label = htmllib.escape(f"[image: {alt}]" if alt else "[image]")
    if _CID.match(src):
        return f'<img src="{htmllib.escape(src)}" alt="{htmllib.escape(alt)}">'
    if _REMOTE.match(src):
        url = "https:" + src if src.startswith("//") else src
        return f'<span class="remote-image" data-src="{htmllib.escape(url)}">{label}</span>'
    return f"<span>{label}</span>"  # data:, javascript: or nothing: not shown
