"""The pages in a real browser: navigation, folded quotes, search, downloads, pagination, hostile mail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def test_open_feed_then_thread_and_unfold_the_quote(page: Page, site: Site) -> None:
    page.goto(site.url + "/")
    page.click("text=The team")
    expect(page).to_have_url(site.url + "/f/team")
    page.click("a.subject:text('Quarterly plan')")
    expect(page).to_have_url(re.compile(r"/t/\d+$"))
    quoted = page.locator("details.quoted").first
    expect(quoted).not_to_have_attribute("open", "")
    expect(quoted.locator(".text")).to_be_hidden()
    quoted.locator("summary").click()
    expect(quoted.locator(".text")).to_be_visible()
    expect(quoted.locator(".text")).to_contain_text("here is the plan")
    expect(page.locator("article.entry")).to_have_count(2)
    expect(page.locator(".reply-to a")).to_have_text("Ann Author")


def test_search_lands_on_the_hit(page: Page, site: Site) -> None:
    page.goto(site.url + "/")
    page.fill("header input[name=q]", "flamingo")
    page.press("header input[name=q]", "Enter")
    expect(page.locator("ol.results li")).to_have_count(1)
    expect(page.locator("ol.results mark")).to_have_text(re.compile("flamingo", re.I))
    page.click("ol.results a.subject")
    expect(page).to_have_url(re.compile(r"/t/\d+#e\d+$"))
    target = page.evaluate("document.querySelector(':target') && document.querySelector(':target').id")
    assert target == page.url.split("#")[1]
    expect(page.locator(f"#{target}")).to_contain_text("flamingo")


def test_download_an_attachment(page: Page, site: Site, tmp_path: Path) -> None:
    page.goto(f"{site.url}/t/{site.thread_ids['Budget with attachment']}")
    with page.expect_download() as info:
        page.click("ul.attachments a:text('Q1 budget.pdf')")
    download = info.value
    assert download.suggested_filename == "Q1 budget.pdf"
    saved = tmp_path / "got.pdf"
    download.save_as(saved)
    assert saved.read_bytes() == b"%PDF-1.4 budget"


def test_follow_pagination(page: Page, site: Site) -> None:
    page.goto(site.url + "/f/team")
    expect(page.locator("li.thread")).to_have_count(50)
    page.click("a[rel=next]")
    expect(page).to_have_url(re.compile(r"/f/team\?cursor="))
    expect(page.locator("li.thread")).to_have_count(7)
    expect(page.locator("li.thread a.subject").last).to_have_text("Old topic 0")
    page.click("text=Newest")
    expect(page.locator("li.thread")).to_have_count(50)


def test_hostile_mail_runs_nothing(page: Page, site: Site) -> None:
    dialogs: list[str] = []
    csp_reports: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: csp_reports.append(m.text) if "Content Security Policy" in m.text else None)
    tid = site.thread_ids["<script>alert('subject')</script> Hostile newsletter"]
    page.goto(f"{site.url}/t/{tid}")
    expect(page.locator("h1")).to_contain_text("<script>alert('subject')</script> Hostile newsletter")
    expect(page.locator("article.entry .body")).to_contain_text("Totally normal newsletter")
    for link in page.locator("article.entry .body a").all():
        assert not (link.get_attribute("href") or "").strip().lower().startswith("javascript")
    page.locator("article.entry .body").click()
    page.goto(f"{site.url}/f/team")
    page.goto(f"{site.url}/search?q=newsletter")
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("document.scripts.length") == 0
    print(f"CSP violations reported by Chromium: {len(csp_reports)}")


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_screenshots_and_no_sideways_scrolling(page: Page, site: Site, artifacts: Path, size: dict[str, int]) -> None:
    name = "phone" if size is PHONE else "desktop"
    page.set_viewport_size(size)
    for what, path in (("feed", "/f/team"), ("thread", f"/t/{site.thread_ids['Quarterly plan']}")):
        page.goto(site.url + path)
        page.screenshot(path=str(artifacts / f"{what}-{name}.png"), full_page=False)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{what} page scrolls sideways at {size['width']} px ({width} px wide)"


def test_right_to_left_mail_and_wide_preformatted_lines_read_on_a_phone(page: Page, site: Site) -> None:
    """Hebrew HTML with no dir of its own was set left to right (its commas on the wrong side); an
    alert's preformatted lines in a table made the entry scroll sideways on a phone; and every page
    asked for a /favicon.ico there is none of."""
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.set_viewport_size(PHONE)
    page.goto(site.url + f"/t/{site.thread_ids['פגישת צוות מחר']}")
    assert page.evaluate("getComputedStyle(document.querySelector('.body p')).direction") == "rtl"
    page.goto(site.url + f"/t/{site.thread_ids['Triggered: disk usage']}")
    overflow = page.evaluate(
        "Math.max(...[...document.querySelectorAll('.body')].map(b => b.scrollWidth - b.clientWidth))"
    )
    assert overflow <= 0, f"the entry scrolls sideways by {overflow} px"
    assert failed == []


def test_a_digest_with_a_long_unbroken_word_fits_a_phone(page: Page) -> None:
    """One 300-character link or one-word subject stretched the whole digest to 2,647 px: on a
    phone every snippet was cut off at the right."""
    from datetime import UTC, datetime
    from email import message_from_bytes, policy

    from gateway.digest.collect import Collected, Item
    from gateway.digest.render import Envelope, Links, render

    at = datetime(2026, 3, 2, tzinfo=UTC)
    item = Item(1, "A" * 200, True, "Dmitri", "See https://example.org/" + "x" * 300, 0, [], False, at)
    rendered = render(
        feed={"slug": "team", "title": "team", "address": "team@example.com"},
        collected=Collected([item], 0, 1),
        reply_address={1: "r1@example.com"},
        mute_url={1: "https://feeds.example.com/mute/m1"},
        links=Links("https://f", "https://f/f/team", "https://f/p", "https://f/u", "mailto:u@example.com"),
        env=Envelope("team <team@example.com>", "b@x", "a@x", "r@x", "<d@x>", "team <team.x>"),
        period_label="now",
        total_replaced=1,
        now=at,
        cache={},
    )
    message = message_from_bytes(rendered.data, policy=policy.default)
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    page.set_viewport_size(PHONE)
    page.set_content(html)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
