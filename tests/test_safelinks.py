"""Safe Links URLs (Microsoft Defender's rewritten links) are shown as the address they stand for."""

from __future__ import annotations

from urllib.parse import quote

from gateway.safelinks import in_text, real_url
from gateway.sanitize import html_to_text, sanitize_html


def wrapped(url: str, region: str = "eur02") -> str:
    return (
        f"https://{region}.safelinks.protection.outlook.com/?url={quote(url, safe='')}"
        "&data=05%7C02%7Cana%40example.org%7C7d3c1e0b&sdata=XyZ%3D&reserved=0"
    )


def test_real_url_decodes_the_url_parameter_even_twice_wrapped() -> None:
    assert real_url(wrapped("https://intranet.example.org/plan.pdf?v=2&lang=en")) == (
        "https://intranet.example.org/plan.pdf?v=2&lang=en"
    )
    assert real_url(wrapped(wrapped("https://a.example/doc"), region="nam12")) == "https://a.example/doc"
    assert real_url(wrapped("mailto:desk@example.org")) == "mailto:desk@example.org"


def test_real_url_leaves_other_urls_and_unsafe_targets_alone() -> None:
    for url in (
        "https://example.org/?url=https%3A%2F%2Fother.example",  # not Microsoft's host
        "https://safelinks.protection.outlook.com.evil.example/?url=https%3A%2F%2Fx.example",
        wrapped("javascript:alert(1)"),  # only http(s) and mailto are shown
        "https://eur02.safelinks.protection.outlook.com/?data=1",  # no url parameter
        "http://[::1",  # not even a URL
    ):
        assert real_url(url) == url


def test_in_text_keeps_the_punctuation_around_a_url() -> None:
    link = wrapped("https://a.example/doc")
    text = f"See the plan<{link}> (or {link}). Then {link}, done."
    assert in_text(text) == (
        "See the plan<https://a.example/doc> (or https://a.example/doc). Then https://a.example/doc, done."
    )
    assert in_text("no links here") == "no links here"


def test_html_links_and_their_text_rendering_show_the_real_address() -> None:
    html = f'<p>See <a href="{wrapped("https://a.example/doc?x=1&y=2").replace("&", "&amp;")}">the plan</a>.</p>'
    assert 'href="https://a.example/doc?x=1&amp;y=2"' in sanitize_html(html)
    assert "safelinks" not in sanitize_html(html)
    assert html_to_text(html) == "See the plan (https://a.example/doc?x=1&y=2)."
