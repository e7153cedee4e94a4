"""Harder HTML replies, one realistic multipart fixture each, through the real analysis step.

Each test pins what an entry shows: the new text, the signature and where the
quoted history starts, and the HTML a reader sees, rendered as text. The quoted
words must be gone from the HTML, except in an inline reply, where the quoted
context the author answers between stays with the answers (reply.py's contract).
"""

from __future__ import annotations

import re

import pytest

from gateway.extract import _without_quoted_images
from gateway.html_text import html_to_text
from gateway.message import Attachment
from tests.helpers import EML, analysed, analysed_fixture, html_of, make_mail

INLINE_ANSWERS = (
    "See my answers below in red.\n\n"
    "From: Bo Berg <bo@example.com>\n"
    "Sent: Monday, March 2, 2026 6:01 PM\n"
    "To: Ana Lima <ana@example.org>\n"
    "Subject: Offsite planning\n\n"
    "Hi Ana,\n\n"
    "Three questions before I book the offsite:\n\n"
    "Can you do Thursday the 12th? [Ana] Yes, Thursday.\n\n"
    "Do we need the big room, or is the small one enough? [Ana] The small one, we are only eight.\n\n"
    "Shall I order lunch in? [Ana] Yes please, vegetarian for everyone."
)


def test_outlook_answers_in_colour_inside_the_quote_keep_their_questions_and_only_the_tail_is_history() -> None:
    c = analysed_fixture("outlook-inline-colored-answers.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == INLINE_ANSWERS
    assert c.signature == ""
    assert c.quoted_text.startswith("Thanks,")
    assert html_to_text(html) == INLINE_ANSWERS
    assert "Thanks," not in html


def test_gmail_three_nested_gmail_quotes_leave_only_the_new_text() -> None:
    c = analysed_fixture("gmail-nested-quotes-three-levels.eml").content
    html = html_of(c)
    assert c.text == "Great, then we are set for Saturday. I will bring the tape."
    assert c.signature == ""
    assert c.quoted_text.startswith(
        "On Tue, Mar 3, 2026 at 9:12 AM Bo Berg <bo@example.com> wrote:\n\n> Yes, the van is booked from 8 to 14."
    )
    assert ">>> We move the archive on Saturday. Who can help?" in c.quoted_text
    assert html_to_text(html) == "Great, then we are set for Saturday. I will bring the tape."
    for quoted in ("van is booked", "Did you book the van", "We move the archive", "wrote:"):
        assert quoted not in html


def test_gmail_bottom_posted_html_keeps_the_text_typed_below_the_gmail_quote() -> None:
    c = analysed_fixture("gmail-bottom-posted-html.eml").content
    html = html_of(c)
    assert c.text == "I have it. I will leave it with the porter tomorrow morning."
    assert c.signature == ""
    assert c.quoted_text.startswith(
        "On Mon, Mar 2, 2026 at 6:01 PM Bo Berg <bo@example.com> wrote:\n\n"
        "> Does anyone still have the key to the bike shed?"
    )
    assert html_to_text(html) == "I have it. I will leave it with the porter tomorrow morning."
    assert "bike shed" not in html and "wrote:" not in html


def test_post_quoting_a_document_in_a_blockquote_is_not_cut() -> None:
    c = analysed_fixture("author-blockquote-not-a-reply.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == (
        "Hi all,\n\n"
        "Section 4.2 of the new travel policy (sent by the board on 27 February):\n\n"
        "> Economy class is required for all flights under six hours. Trains are\n"
        "> preferred for any journey under four hours door to door.\n\n"
        "So the Lisbon trip stays on economy, and Hamburg goes by train. I will\n"
        "rebook the Hamburg tickets this week.\n\n"
        "Lena"
    )
    assert c.signature == ""
    assert c.quoted_text == ""
    assert html_to_text(html) == (
        "Hi all,\n\n"
        "Section 4.2 of the new travel policy (sent by the board on 27 February):\n\n"
        "> Economy class is required for all flights under six hours. "
        "Trains are preferred for any journey under four hours door to door.\n\n"
        "So the Lisbon trip stays on economy, and Hamburg goes by train. "
        "I will rebook the Hamburg tickets this week.\n\n"
        "Lena"
    )
    assert "<blockquote>" in html


def test_apple_mail_reply_keeps_its_inline_image_and_drops_the_cite_blockquote() -> None:
    cid = "E3A1C7F5-2B94-4D6E-8F10-6A5B3C9D7E21"
    c = analysed_fixture("apple-mail-reply-with-image-in-new-part.eml").content
    html = html_of(c)
    assert c.text == (
        "Here is the crack in the hall wall, taken this morning:\n\n"
        "It runs from the window frame down to the skirting board."
    )
    assert c.signature == ""
    assert c.quoted_text.startswith(
        "> On 2 Mar 2026, at 18:01, Bo Berg <bo@example.com> wrote:\n>\n"
        "> Can you send a photo of the damage before the insurer calls?"
    )
    assert html_to_text(html) == (
        "Here is the crack in the hall wall, taken this morning:\n\n"
        "It runs from the window frame down to the skirting board."
    )
    assert re.findall(r"<img[^>]*>", html) == [f'<img src="cid:{cid}" alt="">']
    assert [(a.filename, a.content_type, a.content_id, a.inline) for a in c.attachments] == [
        ("IMG_0412.png", "image/png", cid, True)
    ]
    assert "Can you send a photo" not in html and "wrote:" not in html and "<blockquote" not in html


def test_outlook_signature_with_cid_logo_and_phone_is_split_off_above_the_from_block() -> None:
    c = analysed_fixture("outlook-signature-with-logo.eml").content
    html = html_of(c)
    new = "Hi Bo,\n\nyes, the delivery can come on Friday between 8 and 10. The driver will call you 30 minutes ahead."
    assert c.forward is None
    assert c.text == new
    assert c.signature == (
        "Best regards,\nJonas Weber\n[image: image001.png]\nLogistics, Example Freight GmbH\nT +49 40 1234 5678"
    )
    assert c.quoted_text.startswith(
        "From: Bo Berg <bo@example.com>\nSent: Monday, March 2, 2026 6:01 PM\n"
        "To: Jonas Weber <jonas.weber@freight.example>\nSubject: Delivery on Friday?"
    )
    assert html_to_text(html) == new
    assert "cid:" not in html and "1234 5678" not in html and "Best regards" not in html  # folded apart
    assert "loading bay" not in html and "From:" not in html


def test_images_only_the_quoted_history_showed_are_no_files_of_the_reply() -> None:
    """Each reply carries the pictures of the quoted history again (Outlook re-attaches the earlier
    messages' logos), and every comment of a thread listed them as its files. The raw message keeps them."""
    assert analysed_fixture("lotus-notes-reply.eml").content.attachments == []  # Notes' header icon, quoted
    # the replier's own signature logo stays (Apple Mail puts a sent photo below the signature too)
    assert [a.filename for a in analysed_fixture("outlook-signature-with-logo.eml").content.attachments] == [
        "image001.png"
    ]
    # a picture the author put into their own words stays
    c = analysed_fixture("multipart-related-html-with-inline-images.eml").content
    assert [a.filename for a in c.attachments] == ["image001.png", "image002.jpg"]
    logo, photo, pdf = (
        Attachment("logo.png", "image/png", b"x", "Logo@Sig"),
        Attachment("photo.jpg", "image/jpeg", b"y", "photo@x"),
        Attachment("a.pdf", "application/pdf", b"z", "a@x"),
    )
    quoted = '<blockquote><p>Old <img src="cid:photo%40x"> <img src="cid:logo@sig"></p></blockquote>'
    shown = '<p>Hi <img src="cid:photo@x"></p>'
    assert _without_quoted_images([logo, photo, pdf], quoted, shown) == [photo, pdf]  # shown again: stays
    assert _without_quoted_images([logo], "<p>Hi</p>", "<p>Hi</p>") == [logo]  # pointed at by no quote


def test_reply_whose_history_holds_a_forward_is_a_reply_not_the_forwarded_message() -> None:
    c = analysed_fixture("gmail-reply-with-forwarded-block-inside.eml").content
    assert c.forward is None
    assert (c.author.address, c.subject) == ("ana@example.org", "Re: Fwd: Quote for the new chairs")
    assert c.text == "Let's go with the oak chairs. I can sign the order tomorrow."
    assert c.signature == ""
    assert c.quoted_text.startswith(
        "On Mon, Mar 2, 2026 at 6:01 PM Bo Berg <bo@example.com> wrote:\n\n"
        "> What do you think? I would take the oak ones."
    )
    assert "> ---------- Forwarded message ---------" in c.quoted_text
    html = html_of(c)
    assert html_to_text(html) == "Let's go with the oak chairs. I can sign the order tomorrow."
    for quoted in ("oak ones", "Forwarded message", "119 EUR", "wrote:"):
        assert quoted not in html


def test_thunderbird_pre_body_with_escaped_quote_lines_is_cut_at_its_on_wrote_line() -> None:
    c = analysed_fixture("thunderbird-plain-text-html-pre.eml").content
    html = html_of(c)
    assert c.text == "Yes, it ran at 02:00 and finished at 02:41, 212 GB in total."
    assert c.signature == "--\nDana Weiss\nIT Operations, Example Org"
    assert c.quoted_text.startswith(
        "On 02.03.26 18:01, Bo Berg wrote:\n> Did the nightly backup run after the disk swap?"
    )
    assert html_to_text(html) == "Yes, it ran at 02:00 and finished at 02:41, 212 GB in total."
    assert "Did the nightly backup" not in html and "wrote:" not in html
    assert "Dana Weiss" not in html  # the signature is folded apart, as in the text fields


def test_outlook_reply_above_five_from_sent_blocks_starts_its_history_at_the_first() -> None:
    c = analysed_fixture("outlook-reply-above-long-thread.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Approved. Please go ahead with the order.\n\nMaria"
    assert c.signature == ""
    assert c.quoted_text.startswith(
        "From: Jonas Weber <jonas.weber@example.com>\nSent: Tuesday, March 3, 2026 9:40 AM\n"
        "To: Maria Keller <maria.keller@example.com>\nCc: Bo Berg <bo@example.com>"
    )
    assert len(re.findall(r"^From: ", c.quoted_text, re.MULTILINE)) == 5
    assert c.quoted_text.endswith("When do the new hires start, and how many laptops do we need?")
    assert html_to_text(html) == "Approved. Please go ahead with the order.\n\nMaria"
    for quoted in ("can you approve", "docking station", "two models", "16 March", "how many laptops", "From:"):
        assert quoted not in html


def test_yahoo_signature_div_above_yahoo_quoted_is_the_signature() -> None:
    c = analysed_fixture("yahoo-reply-with-signature-div.eml").content
    html = html_of(c)
    assert c.text == "Thursday at 10 is fine, I have booked room 2.14."
    assert c.signature == "Ana Lima\nEvents team, Example Org\ntel. +351 912 345 678"
    assert c.quoted_text.lstrip().startswith(
        "On Monday, March 2, 2026 at 06:01:00 PM GMT, Bo Berg <bo@example.com> wrote:"
    )
    assert html_to_text(html) == "Thursday at 10 is fine, I have booked room 2.14."
    assert "912 345 678" not in html and "Events team" not in html  # folded apart, as in the text fields
    assert "spring fair" not in html and "wrote:" not in html


def test_outlooks_inline_image_placeholder_reads_as_gmail_writes_it() -> None:
    body = "The button is broken, see:\n\n[cid:image002.png@01DCAC3F.7B2E5A10]\n\nIt worked on Friday.\n"
    c = analysed(make_mail(message_id="cid@example.com", body=body)).content
    assert c.text == "The button is broken, see:\n\n[image: image002.png]\n\nIt worked on Friday."
    assert c.snippet == "The button is broken, see: [image: image002.png] It worked on Friday."


def test_thunderbird_bottom_posted_html_keeps_the_answer_below_its_quote() -> None:
    """The attribution (moz-cite-prefix) heads the quote the author answers below: the cut used to
    fall on the attribution and take the answer with the history, leaving an empty entry."""
    c = analysed_fixture("thunderbird-html-bottom-posted-reply.eml").content
    assert c.text == "I called the service desk; a technician comes tomorrow at nine."
    assert c.signature == "--\nLena Vogel | Office Management\n+49 30 1234567"
    assert c.quoted_text == (
        "On 12.03.26 16:02, Bo Berg wrote:\n\n"
        "> The printer on the second floor jams on every page.\n>\n> Can someone call the service desk?"
    )
    html = html_of(c)
    assert html_to_text(html) == "I called the service desk; a technician comes tomorrow at nine."
    assert "jams" not in html and "wrote:" not in html


def test_apple_mail_html_only_bottom_posted_answer_is_the_text() -> None:
    c = analysed_fixture("apple-mail-html-only-bottom-posted.eml").content
    assert c.text == "I have them, they are in my drawer."
    assert c.quoted_text == (
        "On 12 Mar 2026, at 17:55, Bo Berg <bo@example.com> wrote:\n\n> Who has the keys for the storage room?"
    )
    assert html_to_text(html_of(c)) == "I have them, they are in my drawer."


def test_thunderbird_html_only_inline_answers_keep_their_questions() -> None:
    """Answers between two quotes: an inline reply, whose quotes stay as context, each apart from its answer."""
    c = analysed_fixture("thunderbird-html-only-inline-answers.eml").content
    assert c.text == (
        "On 12.03.26 16:30, Bo Berg wrote:\n\n> Can you do Thursday the 12th?\n\nYes, Thursday works.\n\n"
        "> Shall I order lunch in?\n\nYes please, vegetarian for everyone."
    )
    assert c.quoted_text == ""
    assert "Thursday the 12th" in html_of(c) and "vegetarian" in html_of(c)


ANSWER_UNDER_LONG_QUOTE = (
    "Two monitors and my own chair, please. The plants stay here; Maria said she\n"
    "will take care of them.\n\n"
    "One question about the garage: does the barrier also open with the old\n"
    "badges, or do we get new ones before the move?\n\n"
    "Lena"
)


def test_a_long_answer_below_the_whole_quoted_message_is_the_text_and_the_quote_history() -> None:
    """Bottom posting under a quote of 18 lines: a quote that long is the message answered, not a
    passage kept as context, however long the answer (it stayed in the text and the snippet)."""
    c = analysed_fixture("thunderbird-bottom-posted-under-a-long-quote.eml").content
    assert c.text == ANSWER_UNDER_LONG_QUOTE
    assert c.quoted_text.startswith("Am 10.03.26 um 09:12 schrieb Bo Berg:\n> Hi all,")
    assert c.snippet.startswith("Two monitors")
    g = analysed_fixture("gmail-bottom-posted-under-a-long-quote.eml").content
    assert g.text == ANSWER_UNDER_LONG_QUOTE
    assert g.quoted_text.startswith("On Tue, Mar 10, 2026 at 9:12 AM Bo Berg <bo@example.com> wrote:")
    html = html_of(g)
    assert "Two monitors" in html and "garage under the building" not in html and "wrote:" not in html


def test_a_long_answer_below_a_short_quoted_passage_keeps_the_passage_as_context() -> None:
    raw = (EML / "thunderbird-bottom-posted-under-a-long-quote.eml").read_bytes()
    head, _, rest = raw.partition(b"> Hi all,\n")
    short = head + rest[rest.index(b"> The movers") : rest.index(b">\n> IT will")] + rest[rest.index(b"\nTwo ") :]
    c = analysed(short).content
    assert c.text.startswith("Am 10.03.26 um 09:12 schrieb Bo Berg:\n> The movers need to know:")
    assert c.text.endswith(ANSWER_UNDER_LONG_QUOTE)


def test_outlook_mobile_reply_section_is_history_and_its_app_line_the_signature() -> None:
    """Outlook for iOS and Android mark their parts by name: messageReplySection holds the quote,
    messageSignatureSection the "Get Outlook for iOS" link."""
    c = analysed_fixture("outlook-mobile-message-reply-section.eml").content
    assert c.text == "Booked the big van from 8 to 14. Keys at the front desk."
    assert c.signature == "Get Outlook for iOS (https://aka.ms/o0ukef)"
    assert c.quoted_text == (
        "On 12 Mar 2026 at 18:40, Bo Berg <bo@example.com> wrote:\n"
        "Can someone book a van for Saturday morning? We move the stands to the fair."
    )
    assert html_to_text(html_of(c)) == "Booked the big van from 8 to 14. Keys at the front desk."


def test_gmail_html_only_signature_marked_by_its_class_is_the_signature() -> None:
    """No "-- " line, and a tagline that reads as neither a name nor contact details: only Gmail's
    gmail_signature class tells it apart; the split found none and the tagline ended the text."""
    c = analysed_fixture("gmail-html-only-with-marked-signature.eml").content
    assert c.text == "I booked the bus for 8:30; bring your own lunch."
    assert c.signature == "Field trips, snacks and spreadsheets since 2019"
    assert "spreadsheets" not in html_of(c)
    # the same element with the author's words below it is no signature of theirs
    raw = (EML / "gmail-html-only-with-marked-signature.eml").read_bytes()
    words = analysed(raw.replace(b"</div></div></div>", b"</div></div>See you at the gate.</div>")).content
    assert words.signature == ""
    assert words.text.endswith("Field trips, snacks and spreadsheets since 2019\nSee you at the gate.")


def test_a_quote_container_around_all_the_html_leaves_the_text_parts_words_shown() -> None:
    """The HTML's cut found Gmail's quote container around everything and left nothing, and as the text
    part quotes nothing, its cut won: the entry was empty and every word was folded away as history."""
    c = analysed_fixture("html-all-inside-a-quote-div-text-part-plain.eml").content
    assert c.text.startswith("Worth a read before Monday's planning.\n\nWeekly digest\n1. How we cut")
    assert c.quoted_text == ""
    assert c.html is not None and "Why small pull requests get merged sooner" in c.html


def test_an_html_part_with_nothing_to_show_gives_way_to_the_text_part() -> None:
    """A form mailer sent its words in the text part and an HTML part of empty divs: the page shows the
    HTML when there is one, and the entry was blank."""
    c = analysed_fixture("html-part-with-nothing-to-show.eml").content
    assert c.html is None
    assert c.text == "Name: Ines Rocha\nRequest: a new laptop; the old one no longer charges."
    empty = re.search(rb"<html>.*</html>", (EML / "html-part-with-nothing-to-show.eml").read_bytes())
    assert empty is not None
    picture = empty[0].replace(b"<p ", b'<img src="https://example.com/chart.png" width="600" height="300"><p ')
    raw = (EML / "html-part-with-nothing-to-show.eml").read_bytes().replace(empty[0], picture)
    assert "remote-image" in html_of(analysed(raw).content)  # an image alone is something to show


def test_gmail_inline_answers_between_its_quotes_are_kept() -> None:
    """Gmail's inline reply keeps one gmail_quote div around the attribution, each quoted piece
    and the answers typed between them: cut at that div, both answers were folded away as
    history, from the HTML and from the text, and the entry read "Hi Ana," alone."""
    c = analysed_fixture("gmail-inline-answers-between-quotes.eml").content
    html = html_of(c)
    for answer in ("Yes, 9:30 is fine.", "I will book it today."):
        assert answer in c.text
        assert answer in html_to_text(html)
    assert c.text.startswith("Hi Ana,")
    assert c.text.index("Can we start at 9:30") < c.text.index("Yes, 9:30") < c.text.index("Who books the room")
    assert c.snippet.startswith("Hi Ana,")


def test_gmail_2012_answer_below_the_quote_div_is_shown() -> None:
    """Gmail's older markup writes the attribution as text inside the gmail_quote div; the cut at
    that div took the answer typed below it too, and the HTML showed nothing."""
    c = analysed_fixture("gmail-2012-answer-below-quote-div.eml").content
    html = html_of(c)
    assert c.text == "Thursday works for me.\n\nBob"
    assert c.quoted_text.startswith("On Wed, Mar 14, 2012 at 10:00 AM, Ana Lima <ana@example.com> wrote:")
    assert html_to_text(html) == "Thursday works for me.\n\nBob"
    assert "Shall we move" not in html and "wrote:" not in html


def test_yandex_html_only_inline_answers_under_plain_blockquotes_are_kept() -> None:
    """Yandex and Mail.ru quote in plain <blockquote>s under a header in text: the cut at that
    header took every answer below it, and the entry read "Hi Maria," alone."""
    c = analysed_fixture("yandex-html-only-inline-answers.eml").content
    html = html_of(c)
    for answer in ("Yes, after the backup at 18:00.", "I will send the notice tomorrow morning."):
        assert answer in c.text
        assert answer in html_to_text(html)
    assert "> Who tells the customers?" in c.text  # an inline reply keeps the questions it answers
    assert c.signature == "--\nOleg"


def test_zoho_html_only_bottom_posted_answer_is_the_text() -> None:
    """Zoho's "---- On … wrote ---" above a plain blockquote, the answer below it: the entry was
    empty, and the answer only in the folded history."""
    c = analysed_fixture("zoho-html-only-bottom-posted.eml").content
    html = html_of(c)
    assert c.text == "I called them, a technician comes at 3pm."
    assert c.quoted_text.startswith("---- On Wed, 11 Mar 2026 10:02:11 +0530 Maria Costa <maria@example.com> wrote ---")
    assert "jammed" in c.quoted_text
    assert html_to_text(html) == "I called them, a technician comes at 3pm."
    assert "jammed" not in html


QUOTED = "Can we move the design review to Thursday?"


@pytest.mark.parametrize(
    "name",
    [
        # iOS Mail puts its "On … wrote:" in a <blockquote type="cite"> of its own, above the quote
        "apple-ios-attribution-in-its-own-cite-bottom-posted.eml",
        # Yahoo's class and id with the "ydp…" prefix it adds when it quotes its own mail again
        "yahoo-ydp-prefixed-quote-bottom-posted.eml",
        # GMX and web.de: <div name="quote"> holds the Gesendet/Von block and the quoted message
        "gmx-name-quote-bottom-posted.eml",
        # Outlook for iOS: #mail-editor-reference-message-container holds divRplyFwdMsg and the quote
        "outlook-mobile-bottom-posted-below-reference-message.eml",
        # Spark: <div name="messageReplySection"> holds the attribution and the cited quote
        "spark-bottom-posted-below-reply-section.eml",
    ],
)
def test_answer_below_a_clients_quote_container_is_the_text(name: str) -> None:
    """A short answer below the container a client quotes in: the answer was folded into the history
    with the quote (an empty entry), or the quote stayed in the text."""
    c = analysed_fixture(name).content
    html = html_of(c)
    assert c.text.startswith("Works for me.")
    assert QUOTED in c.quoted_text and QUOTED not in c.text
    assert html_to_text(html).startswith("Works for me.")
    assert QUOTED not in html


def test_protonmail_inline_answers_under_its_original_message_line_are_kept() -> None:
    """Proton writes "------- Original Message -------" one line above its "On … wrote:": the cut
    at that line took the answers between the quotes."""
    c = analysed_fixture("protonmail-html-only-inline-answers.eml").content
    for answer in ("Thursday works for me, 2pm in room B.", "I will bring the projector myself."):
        assert answer in c.text
        assert answer in html_to_text(html_of(c))
    assert f"> {QUOTED}" in c.text


def test_protonmail_signature_block_is_the_signature() -> None:
    """protonmail_signature_block holds the name, the title and "Sent with Proton Mail": its
    underscore hid "signature" from the marker pattern, and the text ended in all three."""
    c = analysed_fixture("protonmail-signature-block-html-only.eml").content
    assert c.text == "Thursday 2pm is fine, see you there. I will bring the projector."
    assert c.signature == (
        "Tomas Berg\nFacilities Lead, Northwind Traders\nSent with Proton Mail (https://proton.me) secure email."
    )
    assert "Northwind" not in html_of(c)


def test_gmx_inline_answers_between_its_quoted_content_pieces_are_kept() -> None:
    """GMX and web.de put the header and each quoted piece in <div name="quote">, the pieces in
    <div name="quoted-content">: cut at the header, both answers were folded away."""
    c = analysed_fixture("gmx-html-only-inline-answers.eml").content
    for answer in ("Thursday works for me, 2pm in room B.", "I will bring the projector myself."):
        assert answer in c.text
        assert answer in html_to_text(html_of(c))


def test_a_list_footer_part_below_a_gmail_quote_is_no_answer_below_it() -> None:
    """A list appends its footer as a text part, shown below the HTML: read as an answer below
    Gmail's quote, it kept the whole quote in the HTML."""
    c = analysed_fixture("gmail-2008-reply-with-list-footer-part.eml").content
    html = html_of(c)
    assert "I use one session per thread." in html_to_text(html)
    assert "same session for every thread" not in html


def test_zimbra_header_inside_a_plain_blockquote_makes_it_the_quote_and_the_answer_below_the_text() -> None:
    """Zimbra (and Kopano, Naver) put the From:/Sent: block inside a plain <blockquote>: the header cut
    took the answer below the quote with it, and the HTML-only reply was an empty entry."""
    c = analysed_fixture("zimbra-header-inside-blockquote-bottom-post.eml").content
    assert c.text == "Friday works, and Marta keeps the keys."
    assert c.quoted_text.startswith('> From: "Lena Vogt" <lena@example.org>')
    assert c.quoted_text.endswith("> Cheers, Lena")
    assert html_to_text(html_of(c)) == "Friday works, and Marta keeps the keys."


def test_kopano_inline_answers_between_plain_blockquotes_are_kept() -> None:
    """Answers typed between the pieces of a quote whose first piece holds the header were folded
    away with it."""
    c = analysed_fixture("kopano-header-inside-blockquote-inline-answers.eml").content
    for answer in ("Yes, Friday at 8am is confirmed.", "Marta keeps the spare keys."):
        assert answer in c.text and answer in html_of(c)
    assert c.quoted_text == ""


def test_web_de_sub_body_container_holds_the_quote_and_the_answer_below_it_is_the_text() -> None:
    c = analysed_fixture("webde-sub-body-container-bottom-post.eml").content
    assert c.text == "Friday works, I booked the 8am slot."
    assert c.quoted_text.startswith("Gesendet: Montag, 2. November 2026 um 09:12\nVon:")
    assert "Can the movers" not in html_of(c)
