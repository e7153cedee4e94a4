"""Reply styles of mail clients and webmails, one fixture each, through the real analysis step.

Each fixture is the multipart/alternative (or plain) reply the client sends; the
test pins what an entry shows: the new text, the quoted history and signature kept
apart, and HTML cut before the client's quote. Class and id attributes are
stripped by the sanitizer whatever the cut, so the HTML checks look for the
quoted words and the reply header instead of the client's marker. The HTML
loses the signature the text split found, which the page shows folded apart.
"""

from __future__ import annotations

from gateway.html_text import html_to_text
from gateway.message import ReplyParts
from gateway.reply import split_reply
from tests.helpers import analysed_fixture, html_of


def test_gmail_android_reply_is_cut_at_gmail_quote_in_text_and_html() -> None:
    content = analysed_fixture("gmail-android-reply.eml").content
    html = html_of(content)
    assert content.text == "Yes, I can take the Thursday evening shift."
    assert content.quoted_text.startswith("On Mon, 2 Mar 2026, 18:01 Bo Berg, <bo@example.com> wrote:")
    assert "> Who can cover Thursday evening at the desk?" in content.quoted_text
    assert content.signature == ""
    assert html_to_text(html) == "Yes, I can take the Thursday evening shift."
    assert "Who can cover" not in html and "wrote:" not in html


def test_gmail_ios_header_wrapped_over_two_lines_starts_the_history() -> None:
    content = analysed_fixture("gmail-ios-reply.eml").content
    html = html_of(content)
    assert content.text == "Sounds good, I will be there at 7."
    assert content.quoted_text.startswith("On Mon, Mar 2, 2026 at 18:01 Bo Berg <bo@example.com>\nwrote:")
    assert "> Dinner at 7 on Tuesday" in content.quoted_text
    assert html_to_text(html) == "Sounds good, I will be there at 7."
    assert "Dinner at 7" not in html and "wrote:" not in html


def test_apple_mail_quoted_printable_reply_is_cut_above_on_wrote_and_blockquote_cite() -> None:
    content = analysed_fixture("apple-mail-blockquote-cite.eml").content
    html = html_of(content)
    assert content.text == "Agreed \u2014 let\u2019s move it to Friday. I will update the invite."
    assert content.quoted_text.startswith("> On 2 Mar 2026, at 18:01, Bo Berg <bo@example.com> wrote:")
    assert "> Can we move the review to Friday?" in content.quoted_text
    assert html_to_text(html) == "Agreed \u2014 let\u2019s move it to Friday. I will update the invite."
    assert "Can we move" not in html and "wrote:" not in html
    assert "<blockquote" not in html


def test_thunderbird_html_reply_is_cut_at_moz_cite_prefix_and_keeps_the_signature_apart() -> None:
    content = analysed_fixture("thunderbird-moz-cite-prefix.eml").content
    html = html_of(content)
    assert content.text == "The numbers look right to me. I only changed the rounding in row 12."
    assert content.signature == "--\nAna Lima\nFinance, Example Org\n+49 30 1234567"
    assert content.quoted_text.startswith("On 02.03.26 18:01, Bo Berg wrote:\n> Please check the Q1 numbers")
    assert "Ana Lima" not in content.quoted_text
    # the quote is cut at moz-cite-prefix, the signature above it at moz-signature
    assert html_to_text(html) == "The numbers look right to me. I only changed the rounding in row 12."
    assert "1234567" not in html  # the moz-signature is folded apart, as in the text fields
    assert "Please check" not in html and "wrote:" not in html
    assert "<blockquote" not in html


def test_yahoo_reply_is_cut_at_yahoo_quoted_and_its_indented_header() -> None:
    content = analysed_fixture("yahoo-reply.eml").content
    html = html_of(content)
    assert content.text == "I will bring the projector and the long HDMI cable."
    header = "On Monday, March 2, 2026 at 06:01:00 PM GMT+1, Bo Berg <bo@example.com> wrote:"
    assert content.quoted_text.lstrip().startswith(header)
    assert "Who can bring the projector on Wednesday?" in content.quoted_text
    assert html_to_text(html) == "I will bring the projector and the long HDMI cable."
    assert "Who can bring" not in html and "wrote:" not in html


def test_outlook_desktop_word_html_is_cut_at_the_border_top_from_block() -> None:
    content = analysed_fixture("outlook-desktop-html-border-top.eml").content
    html = html_of(content)
    assert content.forward is None  # a From:/Sent: block under "RE:" is history, not a forward
    assert content.text == "Yes, the February invoice went out this morning.\n\nCarl"
    assert content.quoted_text.startswith(
        "________________________________\nFrom: Bo Berg <bo@example.com>\nSent: Monday, March 2, 2026 6:01 PM"
    )
    assert "Did the February invoice go out yet?" in content.quoted_text
    assert html_to_text(html) == "Yes, the February invoice went out this morning.\n\nCarl"
    assert "Did the February invoice" not in html
    assert "From:" not in html and "Sent:" not in html


def test_outlook_com_sent_from_outlook_with_its_link_is_the_signature() -> None:
    """Outlook.com's default line links "Outlook"; its text part writes the link in angle brackets."""
    content = analysed_fixture("outlook-com-sent-from-outlook-link.eml").content
    assert content.text == (
        "Hi all,\n\nthe spare keys for the storage room are now in the reception's key box, code 4711."
    )
    assert content.signature == "Sent from Outlook<http://aka.ms/weboutlook>"
    assert html_to_text(html_of(content)) == content.text
    assert "aka.ms" not in html_of(content)


def test_outlook_mobile_get_outlook_for_ios_is_the_signature_and_divrplyfwdmsg_the_history() -> None:
    content = analysed_fixture("outlook-mobile-get-outlook-for.eml").content
    html = html_of(content)
    assert content.forward is None
    assert content.text == "Sure, 10:00 works for me."
    assert content.signature == "Get Outlook for iOS<https://aka.ms/o0ukef>"
    assert content.quoted_text.startswith("________________________________\nFrom: Bo Berg <bo@example.com>")
    assert "Can we have the call at 10:00 tomorrow" in content.quoted_text
    assert html_to_text(html).startswith("Sure, 10:00 works for me.")
    assert "Can we have the call" not in html
    assert "From:" not in html and "<hr" not in html


def test_protonmail_reply_is_cut_at_protonmail_quote_and_original_message() -> None:
    content = analysed_fixture("protonmail-quote.eml").content
    html = html_of(content)
    assert content.forward is None
    assert content.text == "Friday works for me, let's do 14:00."
    assert content.signature == "Sent with Proton Mail secure email."
    assert content.quoted_text.startswith(
        "------- Original Message -------\nOn Monday, March 2nd, 2026 at 18:01, Bo Berg <bo@example.com> wrote:"
    )
    assert "> Shall we meet on Friday afternoon" in content.quoted_text
    assert html_to_text(html).startswith("Friday works for me, let's do 14:00.")
    assert "Shall we meet" not in html
    assert "Original Message" not in html and "wrote:" not in html


def test_protonmails_markdown_linked_sent_with_line_in_a_text_only_reply_is_the_signature() -> None:
    """Proton's text part writes its line's link as Markdown (mailing lists keep only that part):
    "Sent with [Proton Mail](https://proton.me/) secure email." stayed as the answer's last line."""
    c = analysed_fixture("protonmail-markdown-sent-with-line-text-only.eml").content
    assert c.text.endswith("we have some margin.\n\nAna Lima\nrelease team")
    assert c.signature == "Sent with [Proton Mail](https://proton.me/) secure email."
    assert c.quoted_text.startswith("------- Original Message -------\nOn Monday, March 2nd, 2026")
    assert split_reply("Agreed.\n\nSent with [ProtonMail](https://protonmail.com) Secure Email.").text == "Agreed."


def test_samsung_sent_from_line_with_full_stop_is_the_signature() -> None:
    content = analysed_fixture("android-sent-from-samsung.eml").content
    assert content.forward is None
    assert content.text == "I'll be there at 7, save me a seat."
    assert content.signature == "Sent from my Samsung Galaxy smartphone."
    assert content.quoted_text.startswith("-------- Original message --------\nFrom: Bo Berg <bo@example.com>")
    assert content.quoted_text.endswith("What time are you coming on Tuesday?")
    assert content.html is None


def test_an_unquoted_original_below_a_mobile_apps_line_is_history() -> None:
    """Some phones' mail apps write the message answered below their "Sent from my …" line with no
    header and no quote marks: the whole earlier message was shown as the author's."""
    content = analysed_fixture("mobile-app-line-above-unquoted-original.eml").content
    assert content.text == "I can drive. I will pick up the keys on Friday evening."
    assert content.signature == "Sent from my Fairphone"
    assert content.quoted_text.startswith("Who can drive the van on Saturday?")
    assert content.quoted_text.endswith("Tom")
    # a "Sent from" line that ends the message, or stands above a marked quote, is as before
    assert split_reply("Yes, fine.\n\nSent from my iPhone\n") == ReplyParts("Yes, fine.", "", "Sent from my iPhone")
    assert split_reply("Yes.\n\nSent from my iPhone\n\n> Is it fine?\n").quoted_text == "> Is it fine?"
    # a post that is no reply keeps all it says (own_quotes: the caller knows it replies to nothing)
    assert split_reply("Notes.\n\nSent from my iPhone\n\nMore notes.", own_quotes=True).text.endswith("More notes.")


def test_dash_dash_space_signature_above_the_quote_is_split_off() -> None:
    content = analysed_fixture("dash-dash-signature.eml").content
    assert content.text == "I have pushed the fix to the release branch; the nightly build will\npick it up."
    assert content.signature == "--\nDana Weiss\nRelease Engineering\nhttps://example.net/~dana"
    assert content.quoted_text == (
        "On Mon, 2026-03-02 at 18:01 +0100, Bo Berg wrote:\n> Is the fix in the release branch yet?\n>\n> Bo"
    )


def test_bottom_posted_short_answer_is_the_text_and_the_quote_above_it_is_history() -> None:
    # reply.py: a short remark under a single quoted block is new text, the block history
    content = analysed_fixture("bottom-posted-reply.eml").content
    assert content.text == "Yes, I have it. I will leave it at the front desk tomorrow morning."
    assert content.quoted_text == (
        "On Mon, Mar 02, 2026 at 06:01:00PM +0100, Bo Berg wrote:\n"
        ">Does anyone have the key to the storage room?\n>\n>Bo"
    )
    assert content.signature == ""
    assert content.snippet == "Yes, I have it. I will leave it at the front desk tomorrow morning."


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
    assert (
        rendered == "Yes, I will send the signed contract back on Wednesday morning."
    )  # the signature is folded apart, as in the text fields
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
    assert rendered == "Да, я приду в четверг к десяти."  # the signature is folded apart, as in the text fields
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
    assert (
        rendered == "Ja, ich bringe am Samstag den Kuchen mit."
    )  # the signature is folded apart, as in the text fields
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
    assert (
        rendered == "Oui, le devis est parti chez le client ce matin."
    )  # the signature is folded apart, as in the text fields
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


def test_kmail_bottom_posted_reply_keeps_its_signature_out_of_the_history() -> None:
    """KMail's default template puts the header and quote first and the cursor, then the signature, below."""
    c = analysed_fixture("kmail-reply.eml").content
    assert c.text == "Yes, it applies cleanly. I rebased it this morning and the tests pass."
    assert c.signature == "--\nAna Lima"
    assert c.quoted_text == (
        "On Montag, 2. März 2026 18:01:00 CET Bo Berg wrote:\n> Does the patch for the importer still apply on master?"
    )
    assert c.html is None


def test_mutt_bracketed_attribution_is_a_reply_header() -> None:
    """Mutt users often set "* %n <%a> [%{%Y-%m-%d %H:%M}]:", which has no "wrote" word."""
    c = analysed_fixture("mutt-bracketed-attribution.eml").content
    assert c.text == "I cleared the old snapshots; the job ran fine last night."
    assert c.signature == "--\nJo"
    assert c.quoted_text == (
        "* Bo Berg <bo@example.com> [2026-03-02 18:01]:\n"
        '> The backup job failed on Sunday with "disk full". Can someone look?'
    )


def test_alot_and_sup_excerpts_from_header_starts_the_history() -> None:
    c = analysed_fixture("alot-excerpts-from.eml").content
    assert c.text == "Looks good to me; I fixed two typos in the upgrade section."
    assert c.quoted_text.startswith(
        "Excerpts from Bo Berg's message of 2026-03-04 11:02:17 +0100:\n> Here is the draft"
    )


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
    assert (
        rendered == "Yes, I can water the plants while you are away."
    )  # the signature is folded apart, as in the text fields
    assert "Could someone" not in html and "wrote:" not in html


def test_thunderbird_format_flowed_paragraphs_are_joined_where_the_client_wrapped_them() -> None:
    """Thunderbird sends plain text format=flowed: lines of a paragraph end in a space. Shown as sent,
    every paragraph broke where Thunderbird wrapped it, mid-sentence on a wide page, ragged on a phone."""
    c = analysed_fixture("thunderbird-format-flowed-reply.eml").content
    assert c.text == (
        "I can take the monitors and the printer in my car on Friday morning; the boxes with the files "
        "should go with the movers, they are too heavy for one person."
    )
    assert c.quoted_text == (
        "On 16/03/2026 18:40, Bo Berg wrote:\n> Who can help with the office move on Friday? We need someone "
        "with a car for the monitors and the printer, and two people to carry the boxes.\n>\n> Bo"
    )
    assert c.signature == "--\nJo Keller\nFacilities"  # Jo's, put below the quote: not history


def test_thunderbird_author_only_attribution_goes_with_the_quote_below_it() -> None:
    # Thunderbird's reply header set to "author wrote": no date and no address to know it by
    c = analysed_fixture("thunderbird-author-only-attribution.eml").content
    assert c.text == "The big room is free on the 12th, I have booked it from 9 to 5."
    assert c.quoted_text.startswith("Bo Berg wrote:\n> Could you find a room for the offsite?")
    assert c.snippet == c.text


def test_lotus_notes_title_line_above_the_quoted_fields_goes_with_the_history() -> None:
    """Notes puts "Name --- Subject ---" above the quoted message's Von:/An:/Datum: block: it was the
    reply's last line."""
    c = analysed_fixture("lotus-notes-title-above-field-block.eml").content
    assert c.text == "Hallo Martin,\nich muss den Termin morgen leider absagen. Lass uns morgen telefonieren.\n\nEike"
    assert c.quoted_text.startswith("Martin Vogt via Support Team --- Installation [Ticket#11392] ---\n\nVon:")


def test_a_short_answer_signed_below_the_whole_quoted_message_is_bottom_posting() -> None:
    """ "Best,\nAna" under a one-line answer made it three lines long, an answer long enough to keep the
    quote above it as context: the whole message answered stayed in the text."""
    content = analysed_fixture("mutt-bottom-posted-short-answer-signed.eml").content
    assert content.text == "Yes, I'll rerun it after 20:00 and post the log here."
    assert content.signature == "Best,\nAna"
    assert content.quoted_text.startswith("On Mon, Mar 02, 2026 at 09:12:33AM +0100, Bo Berg wrote:\n> Hi Ana,")
