"""Links security gateways rewrote (Safe Links, URL Defense, Google's redirect) show the address they stand for."""

from __future__ import annotations

from urllib.parse import quote

from gateway.html_text import html_to_text
from gateway.links import in_text, real_url
from gateway.sanitize import sanitize_html


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


def test_proofpoint_url_defense_and_googles_redirect_are_unwrapped_too() -> None:
    address = "https://intranet.example.org/docs/plan.pdf?v=2&lang=en"
    v2 = "https://urldefense.proofpoint.com/v2/url?u=https-3A__intranet.example.org_docs_plan.pdf-3Fv-3D2-26lang-3Den&d=DwMF"
    assert real_url(v2 + "aQ&c=abc&r=def&m=ghi&s=jkl&e=") == address
    assert real_url(f"https://urldefense.proofpoint.com/v1/url?u={quote(address, safe='')}&k=x") == address
    assert real_url(f"https://urldefense.com/v3/__{address}__;!!ABC123!def456$") == address
    assert real_url(f"https://www.google.com/url?q={quote(address, safe='')}&sa=D&usg=AOv") == address
    # v3 puts "*" for some characters and keeps them, URL-safe base64, in the tail after "__;"
    # ("JSM" is "%#"); "**" and a letter stand for a run of them ("**A" two, "**B" three)
    starred = "https://urldefense.com/v3/__https://files.example.org/o/owa*2Fplan.html?alt=media&t=ab*team__;JSM!!F1!x$"
    assert real_url(starred) == "https://files.example.org/o/owa%2Fplan.html?alt=media&t=ab#team"
    assert real_url("https://urldefense.com/v3/__https://a.example/**Bdocs__;JTJG!!X!Y$") == "https://a.example/%2Fdocs"
    assert real_url("https://urldefense.com/v3/__https://a.example/caf*__;w6k!!X$") == "https://a.example/café"
    # a tail too short for its tokens, or not base64: the link stays as it came
    for broken in (
        "https://urldefense.com/v3/__https://a.example/a*b*c__;JQ!!X$",
        "https://urldefense.com/v3/__https://a.example/a*__;!!X$",
        "https://urldefense.com/v3/__https://a.example/**%docs__;JTJG!!X$",
    ):
        assert real_url(broken) == broken
    assert (
        real_url("https://www.google.com/search?q=https://a.example")
        == "https://www.google.com/search?q=https://a.example"
    )
    assert in_text(f"see https://urldefense.com/v3/__{address}__;!!X!Y$ (or the wiki).") == (
        f"see {address} (or the wiki)."
    )
