"""Reply and forward markup of more clients, one fixture each, through the real analysis step.

Superhuman (Gmail's classes plus its own `sh-quote`, a read pixel), Spark's HTML
(`messageReplySection`, `spark_quote`), Zoho (`zmail_extra`, `blockquote_zmail`, its
"====== Forwarded message ======" written above and below the header fields), Yahoo's
web reply (header in its own div, a "ydp…" prefix) and iOS app (`yahoo-quoted-begin`,
`iosymail`), outlook.com and Outlook mobile HTML-only replies in French, Spanish,
Italian and Dutch, Gmail's mobile app in Japanese, Chinese and Korean, and Apple Mail
on macOS 14+ forwarding in HTML only. Each test pins what the entry shows; as in
test_eml_more_clients, the sanitizer strips class and id, so the HTML checks look
for the quoted words and the header.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gateway.html_text import html_to_text
from gateway.message import Address
from tests.helpers import analysed, analysed_fixture, html_of, html_only


def test_spark_html_only_forward_shows_the_original_it_puts_in_a_spark_quote_as_the_posts_text() -> None:
    """Spark writes the header unquoted and the original in <blockquote class="spark_quote">: the post
    showed nothing, the original's words all went to the folded history."""
    c = analysed_fixture("spark-html-only-forward-in-spark-quote.eml").content
    html = html_of(c)
    assert c.author == Address("Lena Vogt", "lena.vogt@building-services.example")
    assert c.date == datetime(2026, 3, 3, 16, 20, tzinfo=timezone(timedelta(hours=1)))
    assert c.subject == "Lift maintenance on Friday"
    assert c.forward is not None
    assert c.forward.by == Address("Jonas Keller", "jonas.keller@example.net")
    assert c.forward.note == "FYI, the lift is out on Friday morning.\n\nJonas"
    assert c.text.startswith("Dear tenants,\n\nthe lift in building A is serviced on Friday from 8 to 12.")
    assert c.text.endswith("Lena Vogt\nBuilding Services")
    assert c.quoted_text == ""
    assert html_to_text(html) == c.text
    assert "<blockquote" not in html


@pytest.mark.parametrize("html_alone", [False, True], ids=["text-and-html", "html-only"])
def test_zoho_forward_drops_the_marker_zoho_repeats_below_the_header_fields(html_alone: bool) -> None:
    """Zoho writes "============ Forwarded message ============" above "From : …" and again below
    "Subject : …": the second one opened the original's text and its HTML."""
    name = "zoho-forwarded-message-equals-fields-space-colon.eml"
    c = (analysed(html_only(name)) if html_alone else analysed_fixture(name)).content
    html = html_of(c)
    assert c.author == Address("Priya Nair", "priya.nair@example.org")
    assert c.date == datetime(2026, 3, 2, 17, 48, 9, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert c.subject == "Server room access from Monday"
    assert c.forward is not None and c.forward.note == "Please note the new badge rule below.\n\nAnil"
    assert c.text == (
        "Hello all,\n\nfrom Monday the server room opens only with a personal badge. Please collect yours at reception."
    )
    assert c.signature == "Thanks,\nPriya"
    assert "Forwarded message" not in html and "=====" not in html
    assert html_to_text(html).startswith("Hello all,")


def test_yahoo_web_reply_with_ydp_prefix_loses_the_space_yahoos_text_part_opens_with() -> None:
    """Yahoo's text part reads " Two of us …": the text began with a space."""
    c = analysed_fixture("yahoo-2023-web-reply-header-in-its-own-div.eml").content
    html = html_of(c)
    assert c.text == "Two of us are vegetarian, one vegan."
    assert c.quoted_text.lstrip().startswith(
        "On Monday, March 2, 2026 at 05:01:12 PM GMT, Bo Berg <bo@example.com> wrote:"
    )
    assert "dietary needs" in c.quoted_text
    assert html_to_text(html) == "Two of us are vegetarian, one vegan."
    assert "dietary" not in html and "wrote:" not in html


def test_gmail_mobile_chinese_attribution_wrapped_before_its_time_and_marker_is_history() -> None:
    """Gmail's text part wraps "Maria … <…> 于2026年3月2日周一 18:01写道：" before "18:01写道：": the
    first line stayed in the text, the second was read as the whole header."""
    c = analysed_fixture("gmail-mobile-chinese-yu-xiedao-wrapped-attribution.eml").content
    assert c.text == "好的，我周四上午可以参加培训。"
    assert c.quoted_text.startswith(
        "Maria Fernanda Costa <maria.fernanda.costa@example.com> 于2026年3月2日周一\n18:01写道：\n\n> 下周的培训"
    )
    assert html_to_text(html_of(c)) == "好的，我周四上午可以参加培训。"
