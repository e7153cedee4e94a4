"""More reply styles of mail clients and webmails, one fixture each, through the real analysis step.

Each fixture is written the way the client sends it (multipart/alternative with its
own transfer encodings, or the single part it sends); the test pins what an entry
shows: the new text, the quoted history and signature kept apart, and HTML cut
before the client's quote. As in test_eml_clients, class and id attributes are
stripped by the sanitizer whatever the cut, so the HTML checks look for the quoted
words and the reply header; the HTML loses the signature the text split found,
which the page shows folded apart.
"""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from gateway.html_text import html_to_text
from gateway.reply import split_reply
from tests.helpers import EML, analysed, analysed_fixture, html_of


def test_outlook_for_mac_reply_is_cut_at_the_olk_src_body_section_span_and_its_bold_from_date_block() -> None:
    """Outlook for Mac wraps the quote in <span id="OLK_SRC_BODY_SECTION">, its fields in bold spans, "Date:"."""
    c = analysed_fixture("outlook-mac-olk-src-body-section.eml").content
    html = html_of(c)
    assert c.forward is None  # a From:/Date: block under "Re:" is history, not a forward
    assert c.text == "Yes, I can present the Q1 numbers on Thursday."
    assert c.signature == ""
    assert c.quoted_text.startswith(
        "From: Bo Berg <bo@example.com>\nDate: Monday, 2 March 2026 at 18:01\n"
        'To: "team@example.org" <team@example.org>\nSubject: Agenda for Thursday'
    )
    assert c.quoted_text.endswith("Who can present the Q1 numbers on Thursday?\n\nBo")
    assert html_to_text(html) == "Yes, I can present the Q1 numbers on Thursday."
    assert "Who can present" not in html and "From:" not in html and "Date:" not in html


def test_windows_mail_sent_from_mail_link_line_is_the_signature_and_its_mailto_from_block_the_history() -> None:
    """Windows Mail links "Mail" in its footer, so the text part reads "Sent from Mail<https://…> for Windows"."""
    c = analysed_fixture("windows-mail-sent-from-mail-for-windows.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Yes, I parked it in bay 14. The key is at the front desk."
    assert c.signature == "Sent from Mail<https://go.microsoft.com/fwlink/?LinkId=550986> for Windows"
    assert c.quoted_text.startswith(
        "From: Bo Berg<mailto:bo@example.com>\nSent: Monday, March 2, 2026 6:01 PM\n"
        "To: team@example.org<mailto:team@example.org>\nSubject: Pool car"
    )
    assert c.quoted_text.endswith("Where did you park the pool car?\n\nBo")
    # the footer is folded apart like the text's signature, the From: block with its mailto name is cut
    assert html_to_text(html) == "Yes, I parked it in bay 14. The key is at the front desk."
    assert "Where did you park" not in html and "From:" not in html and "for Windows" not in html


def test_em_client_original_message_with_field_names_without_colons_starts_the_history() -> None:
    """eM Client writes "From "Bo Berg" <…>" / "Date 02/03/2026 …" with no colons, and quotes with ">" and no space."""
    c = analysed_fixture("em-client-original-message-fields-without-colons.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.subject == "Re[2]: Office order"
    assert c.text == "Thanks, I have added the two boxes of A4 paper to the order."
    assert c.signature == ""
    assert c.quoted_text.startswith(
        '------ Original Message ------\nFrom "Bo Berg" <bo@example.com>\nTo "team" <team@example.org>\n'
        "Date 02/03/2026 18:01:12\nSubject Re: Office order"
    )
    assert c.quoted_text.endswith(">Can you add two boxes of A4 paper to the office order?\n>\n>Bo")
    assert html_to_text(html) == "Thanks, I have added the two boxes of A4 paper to the order."
    assert "Can you add" not in html and "Original Message" not in html and "02/03/2026" not in html


def test_zoho_dashed_on_wrote_header_starts_the_history_although_the_original_below_it_is_not_quoted() -> None:
    """Zoho ends its header with "wrote ---" and pastes the original below it without ">" markers."""
    c = analysed_fixture("zoho-on-wrote-dashes-unquoted-original.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Yes, I can take the Saturday morning shift at the market stall."
    assert c.signature == ""
    assert c.quoted_text.startswith("---- On Mon, 02 Mar 2026 18:01:12 +0100 Bo Berg <bo@example.com> wrote ---")
    assert c.quoted_text.endswith("Who can take the Saturday morning shift at the market stall?\n\nBo")
    assert html_to_text(html) == "Yes, I can take the Saturday morning shift at the market stall."
    assert "Who can take" not in html and "wrote" not in html and "+0100" not in html


def test_blackberry_original_message_between_no_break_spaces_starts_the_history_below_its_sent_from_line() -> None:
    """BlackBerry 10 frames "Original Message" with no-break spaces, not dashes; its From: holds a name only."""
    c = analysed_fixture("blackberry-nbsp-original-message.eml").content
    assert c.forward is None
    assert c.text == "Yes, I will be at the depot at 7 to open up."
    assert c.signature == "Sent from my BlackBerry 10 smartphone on the Rogers network."
    assert c.quoted_text.lstrip().startswith(
        "Original Message\nFrom: Bo Berg\nSent: Monday, March 2, 2026 18:01\nTo: team@example.org"
    )
    assert c.quoted_text.endswith("Can someone open the depot at 7 on Tuesday?\n\nBo")
    assert "Original Message" not in c.text and "From:" not in c.text
    assert c.html is None


def test_tuta_html_only_reply_is_cut_at_its_date_by_address_header_above_the_tutanota_quote() -> None:
    """Tuta sends HTML only; its header is "2 Mar 2026 at 18:01 by bo@example.com:", no "wrote", no name."""
    c = analysed_fixture("tuta-by-address-header-html-only.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Yes, I can collect the banners from the printer on Wednesday."
    assert c.signature == "--\nSecured with Tuta Mail:\nhttps://tuta.com/free-email"
    assert c.quoted_text.startswith("2 Mar 2026 at 18:01 by bo@example.com:")
    assert "Who can collect the banners from the printer on Wednesday?" in c.quoted_text
    assert html_to_text(html) == "Yes, I can collect the banners from the printer on Wednesday."
    assert "Who can collect" not in html and "by bo@example.com" not in html and "Tuta Mail" not in html


def test_open_xchange_name_first_hat_am_geschrieben_header_inside_the_quote_starts_the_history() -> None:
    """OX App Suite (mailbox.org, IONOS, Strato) puts "Name <addr> hat am <date> geschrieben:" inside the quote."""
    c = analysed_fixture("open-xchange-hat-am-geschrieben.eml").content
    assert c.forward is None
    assert c.subject == "Re: Aufbau am Samstag"
    assert c.text == "Ja, ich übernehme den Aufbau am Samstag ab 8 Uhr."
    assert c.signature == "Viele Grüße\nAnna"
    assert c.quoted_text.startswith("> Bo Berg <bo@example.com> hat am 02.03.2026 18:01 CET geschrieben:")
    assert c.quoted_text.endswith("> Wer kann am Samstag beim Aufbau helfen?\n>\n> Bo")
    assert c.html is None


def test_gmail_2024_quote_container_and_signature_prefix_leave_only_the_new_text_in_html() -> None:
    """Gmail since 2024: div.gmail_quote_container, U+202F before "PM", the "-- " in span.gmail_signature_prefix."""
    c = analysed_fixture("gmail-quote-container-narrow-nbsp.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Thursday at 10 works for me, I will book the small meeting room."
    assert c.signature == "--\nMia Holm\nFacilities, Example Org"
    assert c.quoted_text.startswith("On Mon, Mar 2, 2026 at 6:01\u202fPM Bo Berg <bo@example.com> wrote:")
    assert "> Can we move the design review to Thursday morning?" in c.quoted_text
    # the signature, its "-- " prefix included, is folded apart as in the text fields
    assert html_to_text(html) == "Thursday at 10 works for me, I will book the small meeting room."
    assert "Can we move" not in html and "wrote:" not in html and "Mia Holm" not in html


def test_outlook_quoted_header_with_mailto_links_starts_the_history_in_text_and_html() -> None:
    """Outlook turns the linked addresses of its From:/To:/Cc: block into "addr<mailto:addr>" in the text part."""
    c = analysed_fixture("outlook-quoted-header-mailto-links.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Yes, the caterer confirmed 40 sandwiches for Thursday.\n\nCarl"
    assert c.signature == ""
    assert c.quoted_text.startswith(
        "From: Bo Berg <bo@example.com<mailto:bo@example.com>>\nSent: Monday, March 2, 2026 6:01 PM\n"
        "To: team@example.org<mailto:team@example.org>\n"
        "Cc: Ana Lima <ana@example.org<mailto:ana@example.org>>; Dora Eck <dora@example.com<mailto:dora@example.com>>"
    )
    assert c.quoted_text.endswith("Has anyone confirmed the catering for Thursday?\n\nBo")
    assert html_to_text(html) == "Yes, the caterer confirmed 40 sandwiches for Thursday.\n\nCarl"
    assert "Has anyone" not in html and "From:" not in html and "mailto:" not in html


def test_github_notification_shows_the_comment_without_the_footer_or_the_hidden_message_id() -> None:
    """GitHub's footer follows "--" in the text part and an em dash in the HTML; its "Message ID" line
    and tracking beacon are hidden (display:none, 1x1) in the HTML, so a reader must not see them."""
    c = analysed_fixture("github-notification-comment.eml").content
    words = "I can reproduce this on 1.8.2 with a 2.5 GB file; 1.8.1 works. Looks like the size check from #398."
    assert c.text == words
    assert c.signature.startswith("--\nReply to this email directly, view it on GitHub:")
    html = html_of(c)
    assert html_to_text(html) == words.replace("#398.", "#398 (https://github.com/example/tool/pull/398).")
    assert "Reply to this email directly" not in html and "Message ID" not in html and "beacon" not in html


def test_groupwise_header_between_angle_brackets_starts_the_unquoted_history_below_it() -> None:
    """GroupWise puts ">>> Name <address> date time >>>" above the original and quotes none of it:
    the header looked like a quoted line, and the whole original was shown as the replier's words."""
    c = analysed_fixture("groupwise-unquoted-original-below-its-header.eml").content
    assert c.text == "Fine by me, let's book the hall for Saturday.\n\nBo"
    assert c.quoted_text.startswith(">>> Ana Lind <ana@example.com> 11/26/2026 10:15 AM >>>\nHi all,")
    assert c.quoted_text.endswith("The hall costs 400 and the tent 250.\n\nAna")
    assert c.forward is None
    # with nothing above the header, the answers are typed into the unmarked original: all of it stays
    inline = (EML / "groupwise-unquoted-original-below-its-header.eml").read_bytes()
    inline = inline.replace(b"Fine by me, let's book the hall for Saturday.\n\nBo\n\n", b"")
    inline = inline.replace(b"by Friday?\n", b"by Friday?\n\nYes, Saturday suits me.\n")
    answered = analysed(inline).content
    assert "Yes, Saturday suits me." in answered.text and answered.quoted_text == ""


def test_nextcloud_mails_name_address_dash_date_attribution_starts_the_history() -> None:
    """Nextcloud Mail writes '"Name" address – date' with no "wrote", above a plain blockquote: the
    attribution and the whole quote were shown as the replier's words, in the text and the HTML."""
    c = analysed_fixture("nextcloud-mail-name-address-dash-date-attribution.eml").content
    assert c.text == "The technician comes on Thursday at ten."
    assert c.quoted_text.startswith('"Jonas Wirth" jonas@example.org – November 2, 2026 4:05 PM\n> The printer')
    assert html_to_text(html_of(c)) == "The technician comes on Thursday at ten."
    said = split_reply('Call me.\n\n"Ana" ana@example.org – see you at 10:30\n\nBring the keys.')
    assert said.quoted_text == ""  # no year before the time: a line of the author's


def test_netease_mail_master_replied_message_separator_and_quote_container() -> None:
    """Mail Master's "---- Replied Message ----" and its ntes-mailmaster-quote div were known to
    nothing: the whole quote was the replier's text, and the quoted author's closing its signature."""
    c = analysed_fixture("netease-mail-master-replied-message.eml").content
    assert (c.text, c.signature) == ("The pallets leave Shanghai on Friday.", "")
    assert c.quoted_text.startswith("---- Replied Message ----\n| From | Marc Roux<marc@example.fr> |")
    assert html_to_text(html_of(c)) == "The pallets leave Shanghai on Friday."


@pytest.mark.parametrize(
    "separator",
    ["-----Original-Nachricht-----", "---------- Původní e-mail ----------", "---- Replied Message ----"],
)
def test_more_webmails_original_message_lines_start_the_history(separator: str) -> None:
    """T-Online's, Seznam's and Mail Master's separators were left at the end of the answer."""
    parts = split_reply(f"Friday works.\n\n{separator}\nBetreff: Umzug\nDatum: 02.11.2026 09:12\n\nKommt ihr?\n")
    assert parts.text == "Friday works." and parts.quoted_text.startswith(separator)


def _alternative(text: str, html: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = "bot@example.org", "team@example.com", "s", "<n@x>"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def test_a_notifications_footer_leaves_the_html_as_it_leaves_the_text() -> None:
    """GitHub writes "---" above its footer in the text and "—" in the HTML; GitLab puts its footer
    under its logo, with no delimiter line in the HTML: the footer went from the text and stayed on
    the page."""
    footer = "You are receiving this because you are subscribed to this thread.\nReply to this email directly."
    html = f"<p>Fixed in 4f2a1c.</p><p>—<br>{footer.replace(chr(10), '<br>')}</p>"
    c = analysed(_alternative(f"Fixed in 4f2a1c.\n\n---\n{footer}\n", html)).content
    assert c.signature == f"---\n{footer}" and html_to_text(html_of(c)) == "Fixed in 4f2a1c."
    gitlab = "You're receiving this email because of your account on gitlab.example.org."
    html = f'<p>Pipeline #44 failed.</p><table><tr><td><img alt="GitLab"></td></tr><tr><td>{gitlab}</td></tr></table>'
    c = analysed(_alternative(f"Pipeline #44 failed.\n\n-- \n{gitlab}\n", html)).content
    assert html_to_text(html_of(c)).startswith("Pipeline #44 failed.") and "receiving" not in html_of(c)


def test_hey_html_only_reply_folds_the_quote_it_hides_in_details_under_its_on_wrote_summary() -> None:
    c = analysed_fixture("hey-html-only-details-quote.eml").content
    assert c.text == "The second venue is better: it has a projector and we can walk from the station."
    assert "On March 2, 2026, Bo Berg <bo@example.com> wrote:" in c.quoted_text
    assert "Which of the two venues" in c.quoted_text
    assert c.html is not None and "hey-quote" not in c.html and "Which of the two venues" not in c.html


def test_qq_mails_html_only_reply_is_cut_at_its_yuanshi_youjian_line_and_grey_field_box() -> None:
    c = analysed_fixture("qq-mail-original-block-html-only.eml").content
    assert (c.subject, c.author.name) == ("回复：采购计划", "王芳")
    assert c.text == "好的，我们周四上午十点见。"
    assert c.quoted_text.startswith("------------------ 原始邮件 ------------------\n发件人:")
    assert c.html is not None and "原始邮件" not in c.html and "采购计划可以吗" not in c.html


def test_k9_mails_brevity_line_below_its_dash_dash_is_the_signature_above_the_on_wrote_header() -> None:
    c = analysed_fixture("k9-mail-android-brevity-signature.eml").content
    assert c.text == "I have it, I'll leave it at the front desk tomorrow morning."
    assert c.signature == "--\nSent from my Android device with K-9 Mail. Please excuse my brevity."
    assert c.quoted_text.startswith("On March 2, 2026 6:01:12 PM GMT+01:00, Bo Berg <bo@example.com> wrote:\n>Who")


def test_outlook_for_ios_in_german_html_only_cuts_at_its_von_gesendet_box_and_signs_outlook_fuer_ios() -> None:
    c = analysed_fixture("outlook-ios-german-html-only-von-gesendet.eml").content
    assert c.text == "Passt, ich bin um 10 Uhr da."
    assert c.signature == "Outlook für iOS beziehen"
    assert c.quoted_text.startswith("Von: Bo Berg <bo@example.com>\nGesendet: Montag, März 2, 2026 6:01:12 PM")
    assert c.html is not None and "beziehen" not in c.html and "verschieben" not in c.html
