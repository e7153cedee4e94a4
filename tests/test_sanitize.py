"""HTML sanitizing (nh3, strict) and HTML to text rendering."""

from __future__ import annotations

import email
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.html_text import html_to_text
from gateway.sanitize import hidden_classes, rewrite_cid, sanitize_html, without_hidden

EML = Path(__file__).parent / "data" / "eml"


def hostile_html() -> str:
    msg = email.message_from_bytes((EML / "html-remote-image-and-script.eml").read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def test_hostile_markup_is_removed() -> None:
    out = sanitize_html(hostile_html()).lower()
    for bad in (
        "<script",
        "alert(",
        "onload",
        "onclick",
        "javascript:",
        "<base",
        "<meta",
        "<form",
        "<input",
        "<iframe",
        "<svg",
        "<style",
        "color:red",
        "style=",
        "data:image",
        ' src="https://tracker',
    ):
        assert bad not in out, bad


def test_remote_image_becomes_a_placeholder_and_cid_image_stays() -> None:
    out = sanitize_html(hostile_html())
    assert '<span class="remote-image" data-src="https://tracker.example/p.gif">[image: logo]</span>' in out
    assert '<img src="cid:part1@example.biz" alt="chart">' in out
    assert "<img" not in out.replace('<img src="cid:', "")


def test_links_get_rel_nofollow() -> None:
    out = sanitize_html('<a href="https://example.org/" target="_blank">x</a>')
    assert out == '<a href="https://example.org/" rel="noopener noreferrer nofollow">x</a>'


@pytest.mark.parametrize(
    "html",
    [
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
        '<img src="x" onerror="alert(1)">',
        "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
        '<object data="evil.swf"></object><embed src="evil.swf">',
        '<span class="remote-image" data-src="javascript:alert(1)">x</span>',
        "<<script>script>alert(1)<</script>/script>",
    ],
)
def test_no_script_survives(html: str) -> None:
    out = sanitize_html(html).lower()
    assert "javascript:" not in out and "onerror" not in out and "<script" not in out
    assert "<object" not in out and "<embed" not in out and "data:text" not in out


def test_html_to_text_renders_structure() -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body>"
        "<h1>Title</h1><p>One<br>two</p><ul><li>a</li><li>b</li></ul>"
        '<p><a href="https://example.org/x">site</a> and <a href="https://example.org/">https://example.org/</a></p>'
        "<blockquote><p>quoted</p><blockquote>deeper</blockquote></blockquote>"
        "<table><tr><td>r1c1</td><td>r1c2</td></tr><tr><td>r2c1</td></tr></table>"
        "<script>alert(1)</script></body></html>"
    )
    assert html_to_text(html) == (
        "Title\n\nOne\ntwo\n\n- a\n- b\n\nsite (https://example.org/x) and https://example.org/\n\n"
        "> quoted\n>\n> > deeper\n\nr1c1  r1c2\nr2c1"
    )


def test_html_to_text_keeps_pre_whitespace_and_decodes_entities() -> None:
    assert html_to_text("<pre>a  b\n  c</pre><p>x&amp;y&nbsp;z</p>") == "a  b\n  c\n\nx&y z"


def test_html_to_text_keeps_the_empty_lines_br_makes() -> None:
    # Gmail and Outlook separate paragraphs with an empty <div><br></div> or <br><br>, not <p>
    assert html_to_text("<div>Hi all,</div><div><br></div><div>the room is booked.</div>") == (
        "Hi all,\n\nthe room is booked."
    )
    assert html_to_text("Hi all,<br><br>the room is booked.<br>Ann") == "Hi all,\n\nthe room is booked.\nAnn"
    # a <br> closing a line's own text is no empty line, nor is one at the very start
    assert html_to_text("<div>one<br></div><div>two</div>") == "one\ntwo"
    assert html_to_text("<br><div>one</div>") == "one"
    assert html_to_text("<blockquote>a<br><br>b</blockquote>") == "> a\n>\n> b"


def test_html_to_text_keeps_a_list_items_paragraph_on_its_bullet() -> None:
    """Substack, Ghost and beehiiv write "<li><p>…</p></li>": each bullet stood alone, its words
    a paragraph below it."""
    html = "<ul><li><p>Solar at 11 cents a watt</p></li><li><p>Heat pumps</p><p>More below.</p></li></ul>"
    assert html_to_text(html) == "- Solar at 11 cents a watt\n\n- Heat pumps\n\nMore below."
    assert html_to_text("<ol><li><div>one</div></li><li>two</li></ol>") == "1. one\n2. two"


def test_html_to_text_sets_a_table_cell_that_ran_over_lines_apart_from_the_next() -> None:
    """A newsletter's cards side by side ("<td>Pottery<br>Mondays<br>£180</td><td>Life drawing…"):
    the second card's title ran on the first card's last line; cells of one line stay a row."""
    html = (
        "<table><tr><td><b>Pottery</b><br>Mondays<br>£180</td><td><b>Life drawing</b><br>Wednesdays</td></tr></table>"
        "<table><tr><td>Name</td><td>Qty</td></tr><tr><td>Apple</td><td>3</td></tr></table>"
    )
    assert html_to_text(html) == "Pottery\nMondays\n£180\n\nLife drawing\nWednesdays\n\nName  Qty\nApple  3"


def test_html_to_text_shows_a_no_break_space_block_as_the_empty_line_it_is() -> None:
    """A browser shows "<div>&nbsp;</div>" as an empty line (Outlook's and newsletters' spacing): the
    text ran the blocks on either side together, and a newsletter's "Book a place" button joined
    its footer, and was folded away with it."""
    html = "<div>a</div><div>&nbsp;</div><div>b</div><p>c</p><p>&nbsp;</p><p>d</p><div>x&nbsp;</div><div>y</div>"
    assert html_to_text(html) == "a\n\nb\n\nc\n\nd\n\nx\ny"
    # a button's padding does not stand between its words and its address
    button = '<p><a href="https://x.example/c">Browse the catalogue&nbsp;&nbsp; </a> now</p>'
    assert html_to_text(button) == "Browse the catalogue (https://x.example/c) now"


def test_html_to_text_drops_a_preview_lines_invisible_padding() -> None:
    """ "&#847; &zwnj; &nbsp;" repeated keeps a client from showing the body after the preview line;
    the text showed it as rows of invisible characters. A non-joiner inside a Persian word stays,
    as does an emoji's joiner."""
    html = "<div>New arrivals&#847; &zwnj; &#847; &zwnj; &nbsp;&#847; &zwnj;&#65279;</div><p>Linen shirts</p>"
    assert html_to_text(html) == "New arrivals\n\nLinen shirts"
    assert html_to_text("<p>می\u200cخواهم 👨\u200d👩\u200d👧 soft\u00adhyphen</p>") == (
        "می\u200cخواهم 👨\u200d👩\u200d👧 softhyphen"
    )


def test_what_the_sender_hid_stays_hidden() -> None:
    # sanitizing drops every style, so a hidden preview line or machine copy would be shown
    html = '<p>Hello</p><div style="display:none !important">Preview text <b>x</b></div><p>Bye</p>'
    assert without_hidden(html) == "<p>Hello</p><p>Bye</p>"
    assert without_hidden('<span style="visibility: hidden">a<span>b</span>c</span>d') == "d"
    # left open, it ends where its parent does (as in a browser); the parent's end tag stays
    assert without_hidden('<tr><td><div style="display:none">x</td><td>y</td></tr>') == "<tr><td></td><td>y</td></tr>"
    # a hidden image goes too, its alt text with it (an accordion's "[+]" and "[-]" were read into the
    # text); shown styles are left alone
    assert without_hidden('<img style="display:none" alt="[+]" src="cid:plus">z') == "z"
    assert without_hidden('<p style="display:block">shown</p>') == '<p style="display:block">shown</p>'


def test_what_the_messages_own_style_sheet_hides_stays_hidden() -> None:
    """A newsletter hides its preview line by a class its <style> hides; sanitizing dropped the sheet,
    and the entry opened with the preview line (then said it again). A rule inside @media hides for
    some screens only, and stays shown."""
    html = (
        "<style>/* preview */ .preheader { display:none !important; mso-hide:all }\n"
        "span.spacer, .also { display: none }\n"
        "@media only screen and (max-width:480px) { .desktop-only { display:none !important } }\n"
        "td .deep { display:none }</style>"
        '<div class="preheader">Preview line</div><span class="x spacer">&#847;</span>'
        '<p class="desktop-only">Wide table</p><p class="deep">kept</p><p>Hello</p>'
    )
    assert hidden_classes(html) == {"preheader", "spacer", "also"}
    out = without_hidden(html)
    assert "Preview line" not in out and "&#847;" not in out
    assert "Wide table" in out and "kept" in out and "Hello" in out


def test_html_to_text_on_broken_markup() -> None:
    assert html_to_text("<div><p>unclosed <b>bold <i>it</div>after") == "unclosed bold it\nafter"
    assert html_to_text("a < b and c > d <a") == "a < b and c > d <a"


def test_linear_time_on_adversarial_html() -> None:
    start = time.perf_counter()
    html_to_text("<a " * 200_000)
    html_to_text('<a x="' * 100_000)
    html_to_text("<a " * 100_000 + 'x=">')  # every "<" reaches the same unclosable quote
    html_to_text(("<a " * 1_000 + 'x=">') * 100)
    html_to_text("<div>" * 100_000)
    sanitize_html("<p>" * 50_000)
    html_to_text("<!--" + "x" * 1_000_000)
    # a style sheet that hides something, then no braces, unclosed comments, endless @media
    for sheet in ("a" * 200_000, "/*" * 100_000, "{" * 100_000, "@media{" * 50_000):
        without_hidden(f"<style>.x{{display:none}} {sheet}</style><p class=x>y</p>")
    assert time.perf_counter() - start < 5.0


def test_language_and_direction_markup_is_kept() -> None:
    """lang picks the right glyphs for Han characters and the right voice for a screen reader."""
    html = '<p lang="ja" dir="ltr" onclick="x()">日本語</p><bdi>עברית</bdi><bdo dir="rtl">abc</bdo>'
    assert sanitize_html(html) == '<p lang="ja" dir="ltr">日本語</p><bdi>עברית</bdi><bdo dir="rtl">abc</bdo>'


@pytest.mark.parametrize("junk", ["\u2028", "\xa0", "\ufeff", "\u200b", " \t"])
def test_a_link_with_a_blank_looking_character_before_its_scheme_keeps_no_javascript(junk: str) -> None:
    """nh3 reads "\u2028javascript:…" as a relative link and keeps it; browsers resolve it so too,
    but a feed reader may not. With the characters browsers skip taken off, the scheme decides."""
    out = sanitize_html(f'<a href="{junk}javascript:alert(1)">x</a><a href="{junk}https://example.org/">y</a>')
    assert "javascript" not in out
    assert out.count("href=") == 1  # the https link stays


def test_a_placeholder_the_sender_wrote_is_no_placeholder() -> None:
    """A sender's own `<span class="remote-image" data-src=…>` loaded its image once the reader chose
    to load remote images, past the tracking-pixel check; a `lang="data-src="` steered the match."""
    out = sanitize_html(
        '<p><span class="remote-image" data-src="https://t.example/p.gif" lang="data-src=">y</span></p>'
    )
    assert out == "<p><span>y</span></p>"
    ours = sanitize_html('<img src="https://e.example/a.png" alt="pic" width="400" height="300">')
    assert ours == '<span class="remote-image" data-src="https://e.example/a.png">[image: pic]</span>'


@pytest.mark.parametrize(
    "style",
    ['width="2" height="1"', 'style="opacity:0"', 'style="max-width:1px;max-height:1px"', 'width="0" height="0"'],
)
def test_tracking_pixels_in_their_other_shapes_are_dropped(style: str) -> None:
    assert sanitize_html(f'<p>Hi<img src="https://t.example/o.gif?u=42" {style}></p>') == "<p>Hi</p>"
    assert "remote-image" in sanitize_html('<img src="https://e.example/a.png" style="opacity:0.5">')


def test_cid_images_written_percent_encoded_or_in_another_case_find_their_part() -> None:
    """RFC 2392 writes a cid: URL %-encoded ("part2%40host"), and clients differ in case from the
    part's Content-ID: both images were shown missing."""
    html = '<img src="cid:part2%40becker.example"><img src="cid:Image001.PNG@01DA"><img src="cid:none@x">'
    urls = {"part2@becker.example": "/a/1", "image001.png@01DA": "/a/2"}
    assert rewrite_cid(html, urls) == '<img src="/a/1"><img src="/a/2"><img data-missing-src="">'
