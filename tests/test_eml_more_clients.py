"""More reply styles, one fixture each as the client writes it, through the real analysis step.

Notes, Zimbra, Mail.ru, GMX/web.de, French Outlook, Outlook on the web, Fastmail,
Spark, Roundcube, Horde, KMail and iCloud Mail. Each test pins the new text, the
signature and the quoted history kept apart, and the HTML cut before the quote.
The sanitizer strips class, id and name attributes, so the HTML checks look for
the quoted words and the reply header rather than the client's marker. Where the
client keeps its signature in the new HTML (there is no marker to cut at), the
rendered HTML is the new text followed by that signature.
"""

from __future__ import annotations

import pytest

from gateway.extract import Content
from gateway.sanitize import html_to_text
from tests.helpers import analysed_fixture


def html_of(content: Content) -> str:
    assert content.html is not None
    return content.html


@pytest.mark.xfail(
    strict=True,
    reason="known gap: Notes' one-line 'Name ---date---snippet' header above its field block stays in the new HTML",
)
def test_notes_reply_is_cut_at_its_tab_field_block_and_the_collapsed_header_line_above_it() -> None:
    """Notes writes "Name ---date---first words of the quote" above the From:/To:/Date: fields in HTML."""
    c = analysed_fixture("lotus-notes-reply.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Yes, I will send the signed contract back on Wednesday morning."
    assert c.signature == "Regards,\nAna Lima"
    assert c.quoted_text.startswith("From:\tBo Berg/ACME@ACME\nTo:\tAna Lima/ACME@ACME\nDate:\t02.03.2026 18:01")
    assert c.quoted_text.endswith("When can you send the signed contract back?\n\nBo")
    rendered = html_to_text(html)
    assert rendered.startswith("Yes, I will send the signed contract back on Wednesday morning.")
    assert rendered.endswith("Ana Lima")
    assert "When can you send" not in html and "---02.03.2026" not in html and "From:" not in html


def test_zimbra_original_message_separator_and_its_sent_block_start_the_history() -> None:
    c = analysed_fixture("zimbra-reply.eml").content
    assert c.forward is None
    assert c.text == "Yes, the 9:15 works for me. I will buy the tickets tonight.\n\nLena"
    assert c.signature == ""
    assert c.quoted_text.startswith(
        '----- Original Message -----\nFrom: "Bo Berg" <bo@example.com>\nTo: "team" <team@example.com>\n'
        "Sent: Monday, March 2, 2026 6:01:00 PM"
    )
    assert c.quoted_text.endswith("Shall we take the 9:15 train on Saturday?\n\nBo")
    assert c.html is None


def test_mailru_quoted_weekday_ot_header_is_history_and_its_dash_dash_signature_is_split_off() -> None:
    c = analysed_fixture("mailru-reply.eml").content
    html = html_of(c)
    assert (c.subject, c.author.name) == ("Re: Встреча в четверг", "Иван Петров")
    assert c.text == "Да, я приду в четверг к десяти."
    assert c.signature == "--\nИван Петров"
    assert c.quoted_text.startswith(">Понедельник, 2 марта 2026, 18:01 +03:00 от Bo Berg <bo@example.com>:")
    assert "Кто сможет прийти в четверг утром?" in c.quoted_text
    rendered = html_to_text(html)
    assert rendered.startswith("Да, я приду в четверг к десяти.")
    assert rendered.endswith("Иван Петров")
    assert "Кто сможет" not in html and "+03:00" not in html


def test_gmx_html_only_reply_is_cut_at_its_gesendet_von_an_betreff_block() -> None:
    """GMX and web.de send HTML only: the text is rendered from the part above the quote."""
    c = analysed_fixture("gmx-webde-reply.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.subject == "Re: Kuchen für Samstag"
    assert c.text == "Ja, ich bringe am Samstag den Kuchen mit."
    assert c.signature == "Gruß\nEmil"
    assert c.quoted_text.startswith('Gesendet: Montag, 02. März 2026 um 18:01 Uhr\nVon: "Bo Berg" <bo@example.com>')
    assert "Wer bringt am Samstag den Kuchen mit?" in c.quoted_text
    rendered = html_to_text(html)
    assert rendered.startswith("Ja, ich bringe am Samstag den Kuchen mit.")
    assert rendered.endswith("Emil")
    assert "Wer bringt" not in html and "Gesendet" not in html


def test_outlook_french_fields_with_a_no_break_space_before_the_colon_start_the_history() -> None:
    """French Outlook writes "De\u00a0:" (ISO-8859-1 =A0): the field names are found all the same."""
    c = analysed_fixture("outlook-french-de-envoye.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Oui, le devis est parti chez le client ce matin."
    assert c.signature == "Cordialement,\nClaire Dubois"
    assert c.quoted_text.startswith("De\u00a0: Bo Berg <bo@example.com>\nEnvoyé\u00a0: lundi 2 mars 2026 18:01")
    assert "Avez-vous envoyé le devis au client\u00a0?" in c.quoted_text
    rendered = html_to_text(html)
    assert rendered.startswith("Oui, le devis est parti chez le client ce matin.")
    assert rendered.endswith("Claire Dubois")
    assert "Avez-vous" not in html and "Envoy" not in html


def test_outlook_web_reply_is_cut_at_appendonsend_and_its_hr_above_divrplyfwdmsg() -> None:
    c = analysed_fixture("outlook-web-owa-hr.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "I have booked the van for Saturday, from 8:00 to 14:00."
    assert c.signature == ""
    assert c.quoted_text.startswith(
        "________________________________\nFrom: Bo Berg <bo@example.com>\nSent: Monday, March 2, 2026 18:01"
    )
    assert "Can someone book the van for Saturday?" in c.quoted_text
    assert html_to_text(html) == "I have booked the van for Saturday, from 8:00 to 14:00."
    assert "Can someone" not in html and "From:" not in html and "<hr" not in html


def test_fastmail_reply_is_cut_at_its_at_wrote_header_above_blockquote_qt() -> None:
    c = analysed_fixture("fastmail-reply.eml").content
    html = html_of(c)
    assert c.text == "Thanks, I will bring the long extension cord and two power strips."
    assert c.signature == ""
    assert c.quoted_text == (
        "On Mon, Mar 2, 2026, at 18:01, Bo Berg wrote:\n"
        "> Does anyone have a long extension cord for the market stall on Saturday?\n>\n> Bo"
    )
    assert html_to_text(html) == "Thanks, I will bring the long extension cord and two power strips."
    assert "Does anyone" not in html and "wrote:" not in html and "<blockquote" not in html


def test_spark_reply_is_cut_at_its_comma_wrote_header_in_the_message_reply_section() -> None:
    c = analysed_fixture("spark-reply.eml").content
    html = html_of(c)
    assert c.text == "Great, I will pick up the keys at 9 then."
    assert c.quoted_text == (
        "On 2 Mar 2026 at 18:01 +0100, Bo Berg <bo@example.com>, wrote:\n"
        "> The keys are at the front desk from 9 on Tuesday."
    )
    assert html_to_text(html) == "Great, I will pick up the keys at 9 then."
    assert "front desk" not in html and "wrote:" not in html


def test_roundcube_reply_is_cut_at_its_schrieb_intro_above_blockquote_cite() -> None:
    c = analysed_fixture("roundcube-reply.eml").content
    html = html_of(c)
    assert c.subject == "Re: Kellerschlüssel"
    assert c.text == "Der Schlüssel liegt beim Hausmeister, Erdgeschoss links."
    assert c.quoted_text == "Am 02.03.2026 18:01, schrieb Bo Berg:\n> Wo ist der Schlüssel für den Keller?\n>\n> Bo"
    assert html_to_text(html) == "Der Schlüssel liegt beim Hausmeister, Erdgeschoss links."
    assert "Wo ist" not in html and "schrieb" not in html


def test_horde_zitat_von_header_without_a_date_starts_the_history_below_the_signature() -> None:
    c = analysed_fixture("horde-zitat-von.eml").content
    assert c.text == "Ja, ich komme um acht und bringe die Unterlagen mit."
    assert c.signature == "Gruß\nJonas"
    assert c.quoted_text == "Zitat von Bo Berg <bo@example.com>:\n\n> Kommst du morgen zum Treffen?\n>\n> Bo"
    assert c.html is None


@pytest.mark.xfail(
    strict=True,
    reason="known gap: a bottom-posted reply's '-- ' signature below the answer is filed with the quoted history",
)
def test_kmail_bottom_posted_reply_keeps_its_signature_out_of_the_history() -> None:
    """KMail's default template puts the header and quote first and the cursor, then the signature, below."""
    c = analysed_fixture("kmail-reply.eml").content
    assert c.text == "Yes, it applies cleanly. I rebased it this morning and the tests pass."
    assert c.signature == "--\nAna Lima"
    assert c.quoted_text == (
        "On Montag, 2. März 2026 18:01:00 CET Bo Berg wrote:\n> Does the patch for the importer still apply on master?"
    )
    assert c.html is None


def test_icloud_reply_with_its_text_part_run_into_one_line_is_split_like_its_html() -> None:
    """iCloud Mail on the web sends a text/plain alternative that joins every line of the HTML with spaces."""
    c = analysed_fixture("icloud-reply.eml").content
    html = html_of(c)
    assert c.text == "Yes, I can water the plants while you are away."
    assert c.signature == "Sent from iCloud"
    # the quote as the HTML shows it: iCloud puts its header inside the blockquote
    assert c.quoted_text.startswith("> On Mar 2, 2026, at 6:01 PM, Bo Berg <bo@example.com> wrote:")
    assert "Could someone water my plants next week while I am in Lisbon?" in c.quoted_text
    rendered = html_to_text(html)
    assert rendered.startswith("Yes, I can water the plants while you are away.")
    assert rendered.endswith("Sent from iCloud")
    assert "Could someone" not in html and "wrote:" not in html
