"""Quotations the author chose: `>` lines no reply header heads, in a message that replies to
nothing or whose HTML shows them as its own <blockquote>, are the author's text, not history."""

from __future__ import annotations

from tests.helpers import EML, analysed, analysed_fixture


def test_a_new_post_that_ends_with_a_quoted_passage_shows_it() -> None:
    c = analysed_fixture("new-post-quoting-a-passage.eml").content
    assert c.text == (
        "Before we argue about commas again, here is what our style guide says:\n\n"
        "> Use the serial comma in lists of three or more items.\n"
        "> Leave it out only where a title or a quotation has none."
    )
    assert c.quoted_text == ""


def test_the_same_lines_in_a_reply_are_history() -> None:
    raw = (EML / "new-post-quoting-a-passage.eml").read_bytes()
    for marked in (
        raw.replace(b"Subject: The", b"Subject: Re: The"),
        raw.replace(b"MIME-Version", b"In-Reply-To: <commas-1@example.com>\nMIME-Version"),
    ):
        c = analysed(marked).content
        assert c.text == "Before we argue about commas again, here is what our style guide says:"
        assert c.quoted_text.startswith("> Use the serial comma")


def test_a_new_post_of_quoted_lines_only_is_not_empty() -> None:
    raw = (EML / "new-post-quoting-a-passage.eml").read_bytes()
    body = b"> This was forwarded without a word of its own.\n> There are only quotes.\n"
    c = analysed(raw[: raw.index(b"\n\n") + 2] + body).content
    assert c.text == body.decode().strip()
    assert c.snippet.startswith("> This was forwarded")


def test_a_reply_whose_html_quotes_a_web_page_in_a_plain_blockquote_keeps_the_quotation() -> None:
    """The HTML's <blockquote cite="https://…"> carries no client's quote markup (type="cite",
    gmail_quote): the author quoted a page. Its text part's "> " lines say the same."""
    c = analysed_fixture("html-blockquote-citing-a-web-page.eml").content
    assert c.text == (
        "Here is the passage I mentioned on the call:\n\n> Use the serial comma in lists of three or more items."
    )
    assert c.quoted_text == ""
    assert c.html is not None and "<blockquote" in c.html and "serial comma" in c.html
    # the client's own quote markup makes the same quote history
    raw = (EML / "html-blockquote-citing-a-web-page.eml").read_bytes()
    cited = analysed(raw.replace(b'<blockquote cite="https', b'<blockquote type="cite" cite="https')).content
    assert cited.text == "Here is the passage I mentioned on the call:"
    assert cited.quoted_text.startswith("> Use the serial comma")
