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


def test_superhuman_reply_is_cut_at_its_sh_quote_and_keeps_the_read_pixel_out_of_the_html() -> None:
    """Superhuman's text part spaces the address ("Bo Berg < bo@example.com > wrote:")."""
    c = analysed_fixture("superhuman-reply-sh-quote-with-read-pixel.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "The boathouse is free on the 14th, I have put a hold on it until Friday.\n\nAna"
    assert c.quoted_text.startswith("On Mon, Mar 02, 2026 at 6:01 PM, Bo Berg < bo@example.com > wrote:")
    assert c.quoted_text.endswith("> Bo\n>")
    assert html_to_text(html) == c.text
    assert "venue" not in html and "wrote:" not in html and "superhuman.com" not in html


def test_superhuman_html_only_reply_splits_off_sent_via_superhuman() -> None:
    c = analysed_fixture("superhuman-html-only-sent-via-superhuman.eml").content
    html = html_of(c)
    assert c.text == "Mine is from 2021, so I am in the first group."
    assert c.signature == "Sent via Superhuman iOS (https://sprh.mn/?vip=ana@example.org)"
    assert c.quoted_text.startswith("On Tue, Mar 03, 2026 at 5:12 PM, Bo Berg <bo@example.com> wrote:\n\n> Laptops")
    assert html_to_text(html) == "Mine is from 2021, so I am in the first group."


def test_spark_html_only_reply_is_cut_at_its_spark_quote_and_its_signature_section_is_the_signature() -> None:
    c = analysed_fixture("spark-html-only-spark-quote-reply.eml").content
    html = html_of(c)
    assert c.text == "I still need one for the grey van, plate B-KL 204."
    assert c.signature == "Jonas Keller\nFacilities"
    assert c.quoted_text.startswith("On 3 Mar 2026 at 17:45 +0100, Bo Berg <bo@example.com>, wrote:\n\n> Who still")
    assert html_to_text(html) == "I still need one for the grey van, plate B-KL 204."
    assert "parking permit" not in html and "Facilities" not in html


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


def test_zoho_reply_is_cut_at_its_zmail_extra_and_four_dash_wrote_header_in_text_and_html() -> None:
    c = analysed_fixture("zoho-zmail-extra-blockquote-zmail-top-posted.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Hi Bo,\n\nThe invoice was paid yesterday, the transfer reference is TR-88213."
    assert c.signature == "Regards,\nAnil"
    assert c.quoted_text.startswith("---- On Mon, 02 Mar 2026 22:31:12 +0530 Bo Berg <bo@example.com> wrote ----")
    assert c.quoted_text.endswith("It is two weeks overdue.\n\nBo")
    assert html_to_text(html) == "Hi Bo,\n\nThe invoice was paid yesterday, the transfer reference is TR-88213."
    assert "overdue" not in html and "wrote" not in html


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


def test_yahoo_ios_html_only_reply_is_cut_at_yahoo_quoted_begin_and_its_app_line_is_the_signature() -> None:
    c = analysed_fixture("yahoo-ios-yahoo-quoted-begin-iosymail-html-only.eml").content
    html = html_of(c)
    assert c.text == "I will be at the client, so count me as away."
    assert c.signature.startswith("Sent from Yahoo Mail for iPhone (https://mail.onelink.me/")
    assert c.quoted_text.startswith("On Monday, March 2, 2026, 6:01 PM, Bo Berg <bo@example.com> wrote:\n\n> The fire")
    assert html_to_text(html).startswith("I will be at the client, so count me as away.")
    assert "fire drill" not in html and "wrote:" not in html


@pytest.mark.parametrize(
    ("name", "text", "signature", "header"),
    [
        (
            "outlook-com-french-html-only-de-envoye-divrplyfwdmsg.eml",
            "J'ai réservé la salle Lumière pour jeudi après-midi.",
            "Bien cordialement,\nClaire",
            "De : Bo Berg <bo@example.com>\nEnvoyé : lundi 2 mars 2026 18:01\nÀ : Claire Martin",
        ),
        (
            "outlook-mobile-spanish-html-only-de-enviado-plain-hr.eml",
            "Lo reviso mañana a primera hora y te digo algo.",
            "Obtener Outlook para Android (https://aka.ms/AAb9ysg)",
            "De: Bo Berg <bo@example.com>\nEnviado: lunes, 2 de marzo de 2026 18:01\nPara: Lucía Fernández",
        ),
        (
            "outlook-com-italian-html-only-da-inviato-divrplyfwdmsg.eml",
            "Li spedisco domani con il corriere delle 10.",
            "Cordiali saluti,\nGiulia",
            "Da: Bo Berg <bo@example.com>\nInviato: lunedì 2 marzo 2026 18:01\nA: Giulia Romano",
        ),
        (
            "outlook-dutch-html-only-van-verzonden-plain-hr.eml",
            "De sleutel hangt in het kastje bij de receptie.",
            "Groet,\nSanne",
            "Van: Bo Berg <bo@example.com>\nVerzonden: maandag 2 maart 2026 18:01\nAan: Sanne de Vries",
        ),
    ],
)
def test_outlook_html_only_reply_in_another_language_is_cut_at_its_field_block(
    name: str, text: str, signature: str, header: str
) -> None:
    """outlook.com's divRplyFwdMsg, or Outlook mobile's rule with a field block and no id under it."""
    c = analysed_fixture(name).content
    html = html_of(c)
    assert c.forward is None
    assert (c.text, c.signature) == (text, signature)
    assert c.quoted_text.startswith(header)
    assert c.quoted_text.endswith("\n\nBo")
    assert html_to_text(html).startswith(text)
    assert "Bo Berg" not in html and "<hr" not in html


@pytest.mark.parametrize(
    ("name", "text", "header"),
    [
        (
            "gmail-mobile-japanese-date-name-colon-attribution.eml",
            "了解です。月曜の定例会は10時からで大丈夫です。",
            "2026年3月2日(月) 18:01 Bo Berg <bo@example.com>:\n\n> 月曜の定例会",
        ),
        (
            "gmail-mobile-korean-nimi-jakseong-attribution.eml",
            "네, 3층 회의실로 예약해 두었습니다.",
            "2026년 3월 2일 (월) 오후 6:01, Bo Berg <bo@example.com>님이 작성:\n\n> 목요일",
        ),
    ],
)
def test_gmail_mobile_reply_in_japanese_or_korean_is_cut_at_its_attribution(name: str, text: str, header: str) -> None:
    c = analysed_fixture(name).content
    html = html_of(c)
    assert (c.text, c.signature) == (text, "")
    assert c.quoted_text.startswith(header)
    assert html_to_text(html) == text
    assert "Bo Berg" not in html and "<blockquote" not in html


def test_gmail_mobile_chinese_attribution_wrapped_before_its_time_and_marker_is_history() -> None:
    """Gmail's text part wraps "Maria … <…> 于2026年3月2日周一 18:01写道：" before "18:01写道：": the
    first line stayed in the text, the second was read as the whole header."""
    c = analysed_fixture("gmail-mobile-chinese-yu-xiedao-wrapped-attribution.eml").content
    assert c.text == "好的，我周四上午可以参加培训。"
    assert c.quoted_text.startswith(
        "Maria Fernanda Costa <maria.fernanda.costa@example.com> 于2026年3月2日周一\n18:01写道：\n\n> 下周的培训"
    )
    assert html_to_text(html_of(c)) == "好的，我周四上午可以参加培训。"


@pytest.mark.parametrize(
    ("name", "date"),
    [
        (
            "apple-mail-macos-14-html-only-forward.eml",
            datetime(2026, 3, 2, 16, 45, 3, tzinfo=timezone(timedelta(hours=1))),
        ),
        # macOS 14 writes U+202F (narrow no-break space) before "PM" in a US date
        (
            "apple-mail-macos-14-us-narrow-space-before-pm-html-only-forward.eml",
            datetime(2026, 3, 2, 16, 45, 3, tzinfo=timezone(timedelta(hours=-5))),
        ),
    ],
)
def test_apple_mail_macos_14_html_only_forward_is_unwrapped_under_the_original(name: str, date: datetime) -> None:
    c = analysed_fixture(name).content
    html = html_of(c)
    assert c.author == Address("Tom Weber", "tom.weber@facilities.example")
    assert c.date == date
    assert c.subject == "Fire alarm test on Thursday"
    assert c.forward is not None and c.forward.note == "Heads up, the alarm will sound twice on Thursday morning."
    assert c.text.startswith("Hello,\n\nwe test the fire alarm in all buildings on Thursday between 9 and 10.")
    assert c.quoted_text == ""
    assert html_to_text(html) == c.text
    assert "Begin forwarded" not in html and "<blockquote" not in html
