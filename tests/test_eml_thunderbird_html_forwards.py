"""Thunderbird's HTML forwards: the original's HTML is what follows its `moz-email-headers-table`."""

from __future__ import annotations

from tests.helpers import EML, analysed, analysed_fixture, html_of, html_only

POLISH = "thunderbird-polish-forward-tresc-przekazanej-wiadomosci.eml"
BODY = "budżet na drugi kwartał został zatwierdzony."


def test_a_thunderbird_forward_in_another_language_shows_the_originals_html() -> None:
    """Under a forward line quotequail does not read in HTML, the post showed the text only."""
    html = html_of(analysed_fixture(POLISH).content)
    assert f"<p>{BODY}</p>" in html and "<p>Kasiu,</p>" in html
    assert "Nadawca" not in html and "Treść przekazanej" not in html and "Proszę o uwagi" not in html


def test_an_html_only_thunderbird_forward_shows_the_originals_html() -> None:
    c = analysed(html_only(POLISH)).content
    assert (c.author.address, c.text.split("\n")[0]) == ("piotr.zielinski@example.pl", "Kasiu,")
    assert f"<p>{BODY}</p>" in html_of(c) and "Adresat" not in html_of(c)


def test_the_originals_html_is_sanitized() -> None:
    raw = (
        (EML / POLISH)
        .read_bytes()
        .replace(
            b"<p>Piotr</p>",
            b'<p onclick="steal()">Piotr</p><script>steal()</script><img src="https://t.example/x.gif">',
        )
    )
    html = html_of(analysed(raw).content)
    assert "Piotr" in html and "onclick" not in html and "<script" not in html and "steal()" not in html


def test_the_html_is_not_shown_when_it_names_another_author_than_the_text() -> None:
    """The text part and the HTML part disagree on whose message it is: the HTML is not the text's original."""
    raw = (EML / POLISH).read_bytes()
    html_at = raw.index(b"text/html")
    raw = raw[:html_at] + raw[html_at:].replace(b"piotr.zielinski@example.pl", b"someone.else@example.pl")
    c = analysed(raw).content
    assert c.author.address == "piotr.zielinski@example.pl"
    assert c.html is None
