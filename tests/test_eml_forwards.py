"""Steps 3 to 6 on one fixture per forward style: the post shows the original, `forward` the forwarder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.message import EmailMessage

import pytest

from gateway.extract import forward_key
from gateway.message import Address, Attachment, Forward
from tests.helpers import EML, analysed, analysed_fixture, html_only, make_mail

OPS = Address("Ops Team", "ops@example.com")
CET = timezone(timedelta(hours=1))
MSK = timezone(timedelta(hours=3))


def test_forward_as_attachment_posts_the_attached_original_under_its_message_id() -> None:
    result = analysed_fixture("forward-as-attachment-rfc822.eml")
    c = result.content
    assert (c.author, c.date, c.subject) == (OPS, datetime(2026, 3, 3, 17, 45, tzinfo=CET), "Datacenter move")
    assert c.text == "The racks move to hall B on 14 March.\nExpect no outage."
    assert c.forward == Forward(
        by=Address("Lena Berg", "lena@example.com"),
        date=datetime(2026, 3, 4, 9, 30, 12, tzinfo=CET),
        note="FYI, see the attached.",
    )
    assert (result.forward_key, c.original_key) == ("dc-move-2026-03@example.com", "dc-move-2026-03@example.com")


def test_gmail_html_forward_takes_the_forwarders_offset_for_the_naive_date() -> None:
    c = analysed_fixture("gmail-html-forward.eml").content
    assert (c.author, c.date, c.subject) == (OPS, datetime(2026, 3, 5, 16, 20, tzinfo=CET), "Backup schedule")
    assert c.text == "Nightly backups now start at 01:30."
    assert c.forward == Forward(
        by=Address("Otto Prem", "otto@example.com"),
        date=datetime(2026, 3, 5, 16, 42, 7, tzinfo=CET),
        note="Please check the new times.",
    )


def test_gmail_forward_shows_the_originals_html_without_the_forward_header() -> None:
    html = analysed_fixture("gmail-html-forward.eml").content.html
    assert html is not None and html.strip() == '<div dir="ltr">Nightly backups now start at 01:30.</div>'


def test_an_html_only_gmail_forward_keeps_the_originals_body() -> None:
    """quotequail finds Gmail's header block but returns no body for it; the post must not be empty."""
    c = analysed(html_only("gmail-html-forward.eml")).content
    assert (c.author, c.subject, c.text) == (OPS, "Backup schedule", "Nightly backups now start at 01:30.")
    assert c.html is not None and c.html.strip() == '<div dir="ltr">Nightly backups now start at 01:30.</div>'
    assert c.forward is not None and c.forward.note == "Please check the new times."


@pytest.mark.parametrize("html_alone", [False, True], ids=["text-and-html", "html-only"])
def test_gmail_older_forward_inside_its_quote_div_shows_the_originals_body(html_alone: bool) -> None:
    """Gmail once wrote the forward's header and body straight into one `gmail_quote` div, with no
    `gmail_attr` box: the original's body was folded away as quoted history and the post was empty."""
    name = "gmail-2012-forward-inside-quote-div.eml"
    c = (analysed(html_only(name)) if html_alone else analysed_fixture(name)).content
    assert c.author == Address("Pavel Král", "pavel.kral@example.org")
    assert c.subject == "Volunteers for the street festival"
    assert c.text.startswith("Hello Lena,\n\nwe still need four people for the café stand on Saturday")
    assert c.quoted_text == ""
    assert c.html is not None and "Could your team send two?" in c.html and "gmail_quote" not in c.html
    assert c.forward is not None and c.forward.note == "Who can help on Saturday?"


def test_outlook_html_forward_reads_the_sent_field_under_the_underscore_line() -> None:
    c = analysed_fixture("outlook-html-forward.eml").content
    assert (c.author, c.date, c.subject) == (OPS, datetime(2026, 3, 5, 15, 47, tzinfo=CET), "Quarterly figures")
    assert c.text == "The Q1 figures are final."
    assert c.forward == Forward(
        by=Address("Sara Tell", "sara@example.com"),
        date=datetime(2026, 3, 6, 10, 2, 11, tzinfo=CET),
        note="Numbers for the board pack.",
    )


def test_german_weitergeleitete_nachricht_reads_von_and_the_german_date_and_leaves_the_marker_out_of_the_note() -> None:
    c = analysed_fixture("german-weitergeleitete-nachricht.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "Mo., 2. März 2026 um 18:01 Uhr"
        "Wartungsfenster am Samstag",
    )
    assert c.text == "Die Server sind am Samstag von 02:00 bis 04:00 nicht erreichbar."
    assert c.forward == Forward(
        by=Address("Jonas Weber", "jonas@example.de"),
        date=datetime(2026, 3, 2, 18, 20, 5, tzinfo=CET),
        note="Zur Info.",
    )


def test_french_message_transfere_reads_sujet_date_de_with_a_space_before_the_colon() -> None:
    c = analysed_fixture("french-message-transfere.eml").content
    assert (c.author, c.date, c.subject) == (OPS, datetime(2026, 3, 4, 8, 15, tzinfo=CET), "Réunion de lundi")
    assert c.text == "La réunion de lundi aura lieu en salle 3."
    assert c.forward == Forward(
        by=Address("Claire Martin", "claire@example.fr"),
        date=datetime(2026, 3, 4, 9, 12, 44, tzinfo=CET),
        note="Pour info, la salle a changé.",
    )


def test_spanish_mensaje_reenviado_reads_de_and_the_spanish_date_under_an_rv_subject() -> None:
    c = analysed_fixture("spanish-mensaje-reenviado.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 5, 9, 40, tzinfo=CET),  # "jue., 5 mar. 2026 a las 9:40"
        "Corte de red",
    )
    assert c.text == "Habrá un corte de red el viernes por la noche."
    assert c.forward == Forward(
        by=Address("Lucia Gomez", "lucia@example.es"),
        date=datetime(2026, 3, 5, 10, 5, 31, tzinfo=CET),
        note="Para que lo sepáis.",
    )


def test_outlook_forward_header_with_only_a_name_gives_an_author_without_address() -> None:
    result = analysed_fixture("outlook-mobile-forward-name-only.eml")
    c = result.content
    assert (c.author, c.date, c.subject) == (
        Address("Ops Team", ""),
        datetime(2026, 3, 10, 18, 5, 12, tzinfo=CET),
        "Network change tonight",
    )
    assert c.text == "The core switch is replaced at 22:00."
    assert c.forward == Forward(
        by=Address("Uwe Falk", "uwe@example.com"),
        date=datetime(2026, 3, 10, 18, 12, 40, tzinfo=CET),
        note="Heads-up for the on-call.",
    )
    assert result.forward_key is not None  # the name is enough to group forwards of it


def test_same_original_forwarded_by_two_people_in_gmail_and_apple_style_is_one_post() -> None:
    a = analysed_fixture("same-original-forwarded-twice-a.eml")
    b = analysed_fixture("same-original-forwarded-twice-b.eml")
    original = (OPS, datetime(2026, 3, 11, 9, 0, tzinfo=CET), "Office closed on Friday")
    assert (a.content.author, a.content.date, a.content.subject) == original
    assert (b.content.author, b.content.date, b.content.subject) == original
    assert a.content.forward is not None and b.content.forward is not None
    assert (a.content.forward.by, b.content.forward.by) == (
        Address("Otto Prem", "otto@example.com"),
        Address("Nina Olsen", "nina@example.com"),
    )
    assert a.forward_key is not None
    assert a.forward_key == b.forward_key
    # one forwarding client writes the original's address as its sender typed it, another as the
    # list printed it: still one post
    raw = (EML / "same-original-forwarded-twice-b.eml").read_bytes()
    assert b"ops@example.com" in raw
    c = analysed(raw.replace(b"ops@example.com", b"Ops@Example.com"))
    assert c.content.author == OPS
    assert c.forward_key == a.forward_key


def test_french_outlook_tr_forward_reads_de_envoye_objet_with_a_no_break_space_before_the_colon() -> None:
    c = analysed_fixture("outlook-french-tr-forward.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "Envoyé\xa0: lundi 2 mars 2026 18:01", the forwarder's offset
        "Coupure électrique mardi",
    )
    assert c.text == "Le courant sera coupé mardi 3 mars de 7h à 9h dans le bâtiment B."
    assert c.forward == Forward(
        by=Address("Claire Martin", "claire@example.fr"),
        date=datetime(2026, 3, 2, 18, 24, 9, tzinfo=CET),
        note="Pour info, pensez à enregistrer vos documents ce soir.",
    )


def test_german_outlook_wg_forward_reads_von_gesendet_betreff_and_the_german_weekday_date() -> None:
    c = analysed_fixture("outlook-german-wg-forward.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "Montag, 2. März 2026 18:01", the forwarder's offset
        "Serverraum am Dienstag gesperrt",
    )
    assert c.text == "Der Serverraum ist am Dienstag von 8 bis 12 Uhr wegen Wartung gesperrt."
    assert c.forward == Forward(
        by=Address("Jonas Weber", "jonas@example.de"),
        date=datetime(2026, 3, 2, 18, 33, 50, tzinfo=CET),
        note="Zur Kenntnis, bitte bis Dienstag nichts im Serverraum abstellen.",
    )


def test_yahoo_forward_reads_the_header_fields_yahoo_runs_together_on_the_marker_line() -> None:
    """Yahoo's text part: "----- Forwarded Message ----- From: …>To: …>Sent: … GMT+1Subject: …" on one line."""
    c = analysed_fixture("yahoo-forward.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "Monday, March 2, 2026, 06:01:00 PM GMT+1"
        "Printer on floor 2 replaced",
    )
    assert c.text == "The printer on floor 2 has been replaced.\nThe new queue is PRN-2B."
    assert c.forward == Forward(
        by=Address("Rita Nunes", "rita_nunes@yahoo.com"),
        date=datetime(2026, 3, 2, 17, 40, 31, tzinfo=UTC),
        note="Passing this on, note the new queue name.",
    )


def test_mailru_forward_reads_ot_kogo_tema_and_the_russian_date_with_its_offset() -> None:
    c = analysed_fixture("mailru-forward.eml").content
    assert (c.author, c.date, c.subject) == (
        Address("Ольга Смирнова", "olga.smirnova@example.ru"),
        datetime(2026, 3, 2, 18, 1, tzinfo=MSK),  # "Понедельник, 2 марта 2026, 18:01 +03:00"
        "Отключение воды в среду",
    )
    assert c.text == "Уважаемые коллеги!\nВ среду, 4 марта, с 10:00 до 14:00 в здании не будет холодной воды."
    assert c.forward == Forward(
        by=Address("Дмитрий Орлов", "d.orlov@mail.ru"),
        date=datetime(2026, 3, 2, 18, 40, 12, tzinfo=MSK),
        note="Коллеги, к сведению.",
    )


def test_german_apple_mail_anfang_der_weitergeleiteten_nachricht_reads_datum_in_mez() -> None:
    c = analysed_fixture("apple-german-anfang-weitergeleitet.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "2. März 2026 um 18:01:00 MEZ"
        "Heizung im 3. OG",
    )
    assert c.text == "Die Heizung im 3. OG wird am Mittwoch zwischen 9 und 11 Uhr gewartet."
    assert c.forward == Forward(
        by=Address("Nina Olsen", "nina@example.com"),
        date=datetime(2026, 3, 2, 18, 47, 3, tzinfo=CET),
        note="Zur Info, betrifft auch unser Büro.",
    )


def test_forward_of_a_gmail_forward_posts_the_innermost_original_under_every_forwarders_note() -> None:
    """Readers want the original: its author, date, subject and body. The middle forward's header goes; its
    note joins the last forwarder's under its writer's name (an Outlook rule's forward of a forward held the
    request itself there, and it was lost)."""
    result = analysed_fixture("forward-of-a-forward.eml")
    c = result.content
    original = (OPS, datetime(2026, 3, 2, 18, 1, tzinfo=CET), "Mailbox quota raised to 50 GB")
    assert (c.author, c.date, c.subject) == original
    assert c.text == "Every mailbox quota is now 50 GB."
    assert c.forward == Forward(
        by=Address("Lena Berg", "lena@example.com"),
        date=datetime(2026, 3, 2, 19, 5, 44, tzinfo=CET),
        note="FYI for the storage team.\n\nOtto Prem:\nHeads-up, this affects the archive job.",
    )
    assert result.forward_key == forward_key(*original)  # one post with a direct forward of the same original
    assert c.html is not None and "Every mailbox quota is now 50 GB." in c.html and "Forwarded" not in c.html


def test_an_outlook_rules_forward_of_a_forward_keeps_the_middle_request_and_no_rule_as_note() -> None:
    """An Outlook rule forwarded Ana's forward: her request sat in the middle layer, which was dropped, and
    the rule Outlook draws above its header was shown as the note."""
    c = analysed_fixture("outlook-rule-forward-of-a-forward.eml").content
    assert (c.author.name, c.subject) == ("Keller, Jonas", "Leaver: Tom Weber")
    assert c.text == "Hello Ana,\n\nTom leaves us on Friday; his last working day is 27 March.\n\nJonas"
    assert c.forward is not None and c.forward.by == Address("IT Requests", "it-requests@example.com")
    assert (
        c.forward.note
        == "Lima, Ana:\nPlease close Tom's accounts on Friday evening and move his files to Ben.\n\nThanks,\nAna"
    )


def test_an_attached_message_whose_mime_fields_follow_a_blank_line_is_read_whole() -> None:
    """Outlook attached a message with a blank line between its headers and its Content-Type: its whole
    MIME body, boundaries and base64, was shown as the post's text and the forwarder's note."""
    c = analysed_fixture("outlook-attached-message-mime-fields-below-a-blank-line.eml").content
    assert (c.author, c.subject) == (
        Address("Cloud Provider", "legal@provider.example.net"),
        "Updates to our terms of service",
    )
    assert c.text == "Our new terms apply from 1 May 2026."
    assert c.html is not None and "Our new terms apply from 1 May 2026." in c.html
    assert c.forward is not None and c.forward.note == "Does this change anything for our contracts?"


def test_an_attached_message_with_no_subject_takes_the_forwards() -> None:
    """A message saved with no Subject and forwarded as an attachment made a post with no subject."""
    inner = "From: Ops Team <ops@example.com>\nDate: Mon, 2 Mar 2026 18:01:00 +0100\n\nThe backup ran at 02:00.\n"
    raw = (
        "From: Lena Berg <lena@example.com>\nTo: team@example.com\nSubject: Fwd: Backup report\n"
        "Date: Mon, 2 Mar 2026 19:05:44 +0100\nMessage-ID: <fwd-no-subject@example.com>\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nFYI.\n--b\nContent-Type: message/rfc822\n\n" + inner + "--b--\n"
    )
    c = analysed(raw.encode()).content
    assert (c.author, c.subject, c.text) == (OPS, "Backup report", "The backup ran at 02:00.")


def test_gmail_forward_keeping_the_originals_pdf_shows_the_originals_body_and_lists_the_pdf() -> None:
    raw = message_from_bytes((EML / "forward-with-attachment.eml").read_bytes())
    pdf = raw.get_payload()[1].get_payload(decode=True)
    c = analysed_fixture("forward-with-attachment.eml").content
    assert (c.author, c.date, c.subject) == (OPS, datetime(2026, 3, 2, 18, 1, tzinfo=CET), "Updated travel policy")
    assert c.text == "The updated travel policy is attached. It applies from 1 April."
    assert c.attachments == [Attachment("travel-policy-2026.pdf", "application/pdf", pdf, "f_mm9x2k3l0", False)]
    assert c.forward == Forward(
        by=Address("Otto Prem", "otto@example.com"),
        date=datetime(2026, 3, 2, 18, 12, 30, tzinfo=CET),
        note="See the attached policy.",
    )
    assert c.html is not None  # the original's HTML part, as for any Gmail forward
    assert c.html.strip() == '<div dir="ltr">The updated travel policy is attached. It applies from 1 April.</div>'


def test_outlook_forward_from_x_on_behalf_of_y_has_y_as_author_under_the_name_y_wrote() -> None:
    """Outlook writes "From: Ops Team on behalf of Jane Roe <jane@example.com>": Jane's mailbox sent it."""
    c = analysed_fixture("outlook-forward-on-behalf-of.eml").content
    assert (c.author, c.date, c.subject) == (
        Address("Jane Roe", "jane@example.com"),
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "Monday, March 2, 2026 6:01 PM", the forwarder's offset
        "Badge readers offline on Wednesday",
    )
    assert c.text == "The badge readers at the main entrance are offline on Wednesday from 07:00 to 08:00."
    assert c.forward == Forward(
        by=Address("Sara Tell", "sara@example.com"),
        date=datetime(2026, 3, 2, 18, 15, 22, tzinfo=CET),
        note="Forwarding for the facilities list.",
    )


def test_outlook_forward_from_a_defender_tenant_shows_the_links_real_addresses() -> None:
    """Microsoft Defender rewrote each link of the original into a Safe Links URL before Jonas forwarded it."""
    c = analysed_fixture("outlook-forward-safelinks.eml").content
    assert c.author == Address("IT Service Desk", "it@example.com")
    assert c.forward is not None and c.forward.note == "FYI, the new VPN client is out."
    assert c.text == (
        "Hello all,\n\nversion 5.2 of the VPN client is available on the "
        "intranet<https://intranet.example.com/it/vpn-client-5.2>. Install it before Monday.\n\n"
        "Outages are posted on the status page (https://status.example.com/).\n\nIT Service Desk"
    )
    html = c.html or ""
    assert 'href="https://intranet.example.com/it/vpn-client-5.2"' in html
    assert 'href="https://status.example.com/"' in html
    assert "safelinks" not in html + c.text + c.snippet


@pytest.mark.parametrize("prefix", ["VL:", "İLT:", "Пересл:", "PD:", "转发:"])
def test_attached_message_under_a_localized_forward_prefix_is_unwrapped_even_under_a_long_note(prefix: str) -> None:
    """Outlook's forward-as-attachment in Finnish, Turkish, Russian, Polish, Chinese: the prefix says it is a
    forward, so a note of any length (here over 2,000 characters) does not hide the original."""
    original = EmailMessage()
    original["From"] = "Ops Team <ops@example.com>"
    original["Subject"] = "Datacenter move"
    original["Date"] = "Tue, 03 Mar 2026 17:45:00 +0100"
    original["Message-ID"] = "<dc-move-2026-03@example.com>"
    original.set_content("The racks move to hall B on 14 March.\n")
    outer = EmailMessage()
    outer["From"] = "Lena Berg <lena@example.com>"
    outer["Subject"] = f"{prefix} Datacenter move"
    outer["Message-ID"] = "<fwd-lena@example.com>"
    outer.set_content("See the attached; my notes on it follow.\n\n" + "A note line about the move.\n" * 90)
    outer.add_attachment(original)
    c = analysed(outer.as_bytes()).content
    assert (c.author, c.subject, c.text) == (OPS, "Datacenter move", "The racks move to hall B on 14 March.")
    assert c.forward is not None and c.forward.by.address == "lena@example.com"
    assert c.original_key == "dc-move-2026-03@example.com"


def test_outlook_2010_forward_reads_the_address_in_brackets_after_mailto() -> None:
    # Outlook 2010 and Exchange write "From: Ivo Novak [mailto:ivo.novak@…]": the author was a
    # name with the brackets in it and no address, so "only mine" digests could not match it
    result = analysed_fixture("outlook-2010-forward-mailto-address.eml")
    c = result.content
    assert c.author == Address("Ivo Novak", "ivo.novak@it.example.com")
    assert (c.subject, c.date) == ("Network maintenance on Saturday", datetime(2026, 3, 9, 17, 12, tzinfo=UTC))
    assert c.text == "Hello all,\n\nthe network in building A will be down on Saturday from 08:00 to 12:00.\n\nIvo"
    assert c.forward == Forward(
        by=Address("Sara Tell", "sara@example.com"),
        date=datetime(2026, 3, 10, 8, 41, 7, tzinfo=UTC),
        note="For everyone working this weekend.\n\nSara",
    )
    assert result.forward_key == forward_key(c.author, c.date, c.subject)


def test_a_forward_attached_in_base64_is_read_as_the_message_it_holds() -> None:
    """RFC 2046 allows no base64 on message/rfc822, and mailers use it: the original was shown as base64."""
    c = analysed_fixture("forward-as-base64-encoded-attachment.eml").content
    assert (c.author, c.subject) == (OPS, "Disk space on fs2")
    assert c.text == "fs2 is at 91% capacity; old build artefacts will be removed tonight."
    assert c.forward is not None and c.forward.note == "See below, from the ops team."


def test_a_forward_as_attachment_over_smtp_keeps_the_original_out_of_the_note() -> None:
    """SMTP's lines end in CRLF: the original's text, read apart with LF lines, was not found in the
    forward's text parts, and the whole original was shown again as the forwarder's note."""
    raw = (EML / "forward-as-attachment-rfc822.eml").read_bytes().replace(b"\n", b"\r\n")
    c = analysed(raw).content
    assert c.forward is not None and c.forward.note == "FYI, see the attached."
    assert c.text == "The racks move to hall B on 14 March.\nExpect no outage."


def test_a_reply_that_attaches_two_messages_is_the_replys_own_not_a_forward() -> None:
    """ "AW: …" with the supplier's two mails attached: the reply shows its author and words; the
    attached mails stay attachments, and their bodies are no part of its text or HTML."""
    c = analysed_fixture("reply-attaching-two-messages.eml").content
    assert c.forward is None
    assert (c.author, c.subject) == (Address("Keller, Jo", "jo.keller@example.de"), "AW: Order 4711 for the Ulm office")
    assert c.text == "Both confirmations from the supplier are attached; the monitors ship on Monday."
    assert c.signature == "Grüße\nJo Keller"
    assert c.html is None
    # attached with no Content-Disposition, as Outlook attaches an item: listed, named for their subjects
    assert [(a.filename, a.content_type) for a in c.attachments] == [
        ("Order confirmation 4711-A.eml", "message/rfc822"),
        ("Order confirmation 4711-B.eml", "message/rfc822"),
    ]
    assert c.attachments[0].data.startswith(b"From: Supplier Orders <orders@supplier.example>")
    # a slash in a subject is no folder: "Order 4711/A" was named "A ….eml"
    slashed = (EML / "reply-attaching-two-messages.eml").read_bytes().replace(b"4711-A", b"4711/A")
    assert analysed(slashed).content.attachments[0].filename == "Order confirmation 4711-A.eml"
    # with a forward's subject it is no forward of the first of them either: two originals, one post
    raw = (EML / "reply-attaching-two-messages.eml").read_bytes().replace(b"Subject: AW:", b"Subject: WG:", 1)
    f = analysed(raw).content
    assert f.forward is None and f.author.address == "jo.keller@example.de"
    assert [a.filename for a in f.attachments] == [a.filename for a in c.attachments]


def test_a_forward_of_two_attached_messages_is_the_forwarders_with_both_as_files() -> None:
    """The first attached message was taken for the original, and the second's words were shown as
    the forwarder's note: Bob's complaint under Dora's name, Bob and his subject lost. A digest is
    the same: a list's envelope, no forward of its first entry."""
    c = analysed_fixture("forward-attaching-two-messages.eml").content
    assert c.forward is None
    assert (c.author, c.subject) == (Address("Dora Eck", "dora@example.org"), "Fwd: two customer complaints")
    assert c.text == "Both complaints from this weekend, for Monday's review."
    assert [(a.filename, a.content_type) for a in c.attachments] == [
        ("Late delivery.eml", "message/rfc822"),
        ("Wrong size.eml", "message/rfc822"),
    ]
    assert b"size too small" in c.attachments[1].data


def test_an_attached_forward_of_an_attached_message_shows_the_innermost_original() -> None:
    """Each forwarder attached the message they forwarded: the middle forward was shown as the
    original, with the hotel's offer as its text and Bo as its author."""
    c = analysed_fixture("attached-forward-of-an-attached-forward.eml").content
    assert (c.author, c.subject) == (Address("Lake Hotel", "events@lakehotel.example"), "venue for the offsite")
    assert c.text == "We can host 30 people on 4 December, lunch included."
    assert c.forward is not None and c.forward.by == Address("Carl Nord", "carl@example.org")
    assert c.forward.note == "For everyone: the venue offer below.\n\nBo Berg:\nCarl, can you share this with the team?"
    # a reply's subject over nothing but an attached message: its envelope, unwrapped as a forward is
    raw = (EML / "attached-forward-of-an-attached-forward.eml").read_bytes()
    bare = raw.replace(b"Subject: Fwd: Fwd:", b"Subject: Re: Fwd:", 1)
    bare = bare.replace(b"For everyone: the venue offer below.\n", b"")
    assert analysed(bare).content.author.address == "events@lakehotel.example"


def test_arcor_webmails_original_nachricht_forward_is_unwrapped_without_its_marker_as_the_note() -> None:
    """Arcor's webmail forwards under "----- Original Nachricht ----": the marker was the forwarder's note,
    and under "Re:" it was the reply's last line, above the history."""
    c = analysed_fixture("arcor-webmail-original-nachricht-forward.eml").content
    assert (c.author, c.subject) == (Address("Bob Schmidt", "bob.schmidt@example.com"), "Rechnungen Mai")
    assert c.forward is not None and c.forward.note == "Zur Info, bitte bis Freitag prüfen."
    assert c.text.startswith("Sehr geehrte Frau Weber,\n\nanbei die Rechnungen für Mai.")
    raw = (EML / "arcor-webmail-original-nachricht-forward.eml").read_bytes()
    r = analysed(raw.replace(b"Subject: WG:", b"Subject: Re:", 1)).content
    assert r.forward is None
    assert r.text == "Zur Info, bitte bis Freitag prüfen."
    assert r.quoted_text.startswith("----- Original Nachricht ----\nVon:     Bob Schmidt")


def test_a_forward_attached_as_message_global_is_unwrapped_as_rfc822_ones_are() -> None:
    """message/global (RFC 6532) is an attached message whose headers are UTF-8: it was no forward,
    and the original's author, date and subject were lost."""
    c = analysed_fixture("forward-as-message-global-utf8-headers.eml").content
    assert (c.author, c.subject) == (Address("Zoë Ångström", "zoe@example.org"), "Stand plan for the fair ✨")
    assert c.date == datetime(2026, 3, 15, 18, 30, tzinfo=timezone(timedelta(hours=1)))
    assert c.text == "The stand is 4 by 6 metres; the screens go on the back wall."
    assert c.forward is not None and c.forward.by.address == "sam@example.com"
    assert c.forward.note == "Here is Zoë's plan, for tomorrow's call."
    assert c.original_key == "stand-plan@example.org"


def test_a_note_written_in_html_alone_above_an_attached_message_is_kept() -> None:
    """The forwarder's note was looked for in the text parts only: written in HTML alone, it was
    lost, and the entry showed the original with an empty note."""
    c = analysed_fixture("forward-as-attachment-with-html-only-note.eml").content
    assert c.forward is not None
    assert c.forward.note == "Please approve the attached plan by Friday."
    assert (c.author.address, c.subject, c.text) == ("cy@example.org", "plan", "Here is the plan text.")


@pytest.mark.parametrize(
    ("name", "marker"),
    [
        ("mutt-forwarded-message-from.eml", "----- Forwarded message from Bo Berg <bo@example.net> -----"),
        ("lotus-notes-forwarded-by.eml", "----- Forwarded by Ana Lund/ACME on 02.03.2026 10:20 -----"),
        ("thunderbird-italian-forward-mittente.eml", "-------- Messaggio Inoltrato --------"),
    ],
)
def test_a_forwards_marker_line_is_no_part_of_the_note(name: str, marker: str) -> None:
    """mutt's "Forwarded message from X" and Notes' "Forwarded by X on …" lines, framed as markers are,
    stayed as the note's last line; Thunderbird's Italian table ("Mittente:") was no forward at all."""
    c = analysed_fixture(name).content
    assert c.forward is not None
    assert marker not in c.forward.note and marker not in c.text
    assert c.text.startswith(("Hi Ana,", "Ciao Ana,"))
    assert "End forwarded message" not in c.text  # mutt's closing line is no part of the original


def test_a_lotus_notes_hierarchical_name_is_a_name() -> None:
    c = analysed_fixture("lotus-notes-forwarded-by.eml").content
    assert (c.author.name, c.author.address) == ("Bo Berg", "")


def test_a_yandex_forward_with_its_one_line_header_is_unwrapped() -> None:
    """Yandex writes no header fields under its marker, only "02.03.2026, 09:12, "Bo Berg" <bo@…>:":
    the forwarded message was folded away as history, and the forwarder was its author."""
    c = analysed_fixture("yandex-russian-forward.eml").content
    assert c.forward is not None and c.forward.by.address == "ana@example.org"
    assert c.author == Address("Bo Berg", "bo@example.net")
    assert c.date is not None and (c.date.day, c.date.month, c.date.hour, c.date.minute) == (2, 3, 9, 12)
    assert c.text.startswith("Привет, Ана!") and c.text.endswith("Бо")  # without Yandex's end marker
    assert c.forward.note.startswith("К сведению, вопрос Бо ниже.")


def test_a_forward_tables_date_under_a_localized_label_is_the_originals_date() -> None:
    """Thunderbird's Japanese table writes the date under "日付:": the original had no date, and the
    marker line "-------- 転送メッセージ --------" was the note's last line."""
    c = analysed_fixture("thunderbird-japanese-forward-hizuke.eml").content
    assert c.forward is not None and "転送メッセージ" not in c.forward.note
    assert c.date is not None and (c.date.month, c.date.day, c.date.hour, c.date.minute) == (3, 2, 9, 12)


def test_a_file_its_sender_named_nothing_inside_an_attached_original_is_kept() -> None:
    """mail-parser lists no unnamed part, and mailfeed's own look for them leaves attached messages
    to their reading: unwrapped, the original's file was on neither."""
    raw = (
        b"From: Dora Eck <dora@example.org>\nTo: team@example.com\nSubject: Fwd: scan\nMessage-ID: <fs@x>\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="o"\n\n--o\nContent-Type: text/plain\n\n'
        b"FYI.\n--o\nContent-Type: message/rfc822\n\nFrom: Scanner <scan@example.org>\nSubject: scan\n"
        b'Message-ID: <sc@x>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="i"\n\n--i\n'
        b"Content-Type: text/plain\n\nPage 1 of 1.\n--i\nContent-Type: application/pdf\n"
        b"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--i--\n\n--o--\n"
    )
    c = analysed(raw).content
    assert c.author.address == "scan@example.org" and c.text == "Page 1 of 1."
    assert [(a.filename, a.data) for a in c.attachments] == [("attachment.pdf", b"%PDF-1.4\n")]


def test_outlooks_image_placeholder_in_a_forwarders_note_is_shown_as_an_image() -> None:
    """The text body turned Outlook's "[cid:image001.png@01DA…]" into "[image: image001.png]"; the note
    above an inline forward showed the raw placeholder."""
    text = (
        "See the table below.\n[cid:image001.png@01DA7000.11112222]\n\n"
        "From: Port Office <port@example.org>\nSent: Tuesday, March 5, 2024 9:00 AM\nTo: Martin <m@example.org>\n"
        "Subject: Schedule\n\nDock 7 opens later.\n"
    )
    c = analysed(make_mail(message_id="fwcid@x", subject="FW: Schedule", body=text)).content
    assert c.forward is not None and c.forward.note == "See the table below.\n[image: image001.png]"


def test_a_comma_named_sender_keeps_name_and_address_in_the_header_and_the_forward() -> None:
    """Exchange writes "Novak, Ivo <ivo.novak@…>"; the address parser split the name at its comma:
    the forwarder had no name, and the original's author no address (so no forwards grouped by it)."""
    c = analysed_fixture("forward-of-a-comma-named-sender.eml").content
    assert c.author == Address("Novak, Ivo", "ivo.novak@example.com")
    assert c.forward is not None
    assert c.forward.by == Address("Lindqvist, Maria", "maria.lindqvist@example.org")
    assert c.forward.note == "For everyone who needs the server room after March."
    assert c.subject == "Server room access from April"


def test_the_new_outlooks_html_forward_under_korean_labels_keeps_its_first_line_in_the_body() -> None:
    """The salutation right under "제목:" (a short line, then a blank one) was read as the rest of a
    wrapped subject: "서버 점검 일정 안내 서연님께," and the body lost it. The message's own subject says
    the block's is whole."""
    c = analysed_fixture("new-outlook-forward-korean-labels-html-only.eml").content
    assert c.subject == "서버 점검 일정 안내"
    assert c.author == Address("최민수", "minsu.choi@example.kr")
    assert c.text.startswith("서연님께,\n\n3월 14일(토) 오전 2시부터 6시까지 서버 점검이 있습니다.")
    assert (
        c.forward is not None and c.forward.note == "팀원 여러분,\n\n다음 주 점검 일정 공유드립니다. 확인 부탁드립니다."
    )


def test_a_mutt_inline_forward_is_unwrapped_up_to_its_end_marker() -> None:
    """mutt's "----- Forwarded message from Bo Berg <…> -----" was no forward marker, and its
    default subject "[bo@…: …]" no forward subject: Bo's message was folded away as history. Below
    its "----- End forwarded message -----" the words are the forwarder's, and their signature no
    part of the original's."""
    c = analysed_fixture("mutt-inline-forward.eml").content
    assert (c.author, c.subject) == (Address("Bo Berg", "bo@example.net"), "Deploy window moves to Thursday")
    assert c.text == (
        "Hi all,\n\nthe deploy window moves to Thursday 20:00. Please check the migration\nscript before then.\n\n"
        "- backup first\n- then migrate\n\nBo"
    )
    assert c.signature.split() == ["--", "Bo", "Berg,", "Ops"]
    assert c.forward is not None and c.forward.by == Address("Ana Alves", "ana@example.org")
    assert (
        c.forward.note == "This changes the on-call rota for Thursday night.\n\nWhoever is on call, please reply here."
    )


def test_iphone_forward_leaves_sent_from_my_iphone_and_the_zero_width_space_out_of_note_and_post() -> None:
    """iOS Mail writes its "Sent from my iPhone" between the note and "Begin forwarded message:", and
    starts the original with U+FEFF: the line was shown as the forwarder's words, the mark began the post."""
    c = analysed_fixture("iphone-forward-sent-from-above-begin-forwarded.eml").content
    assert (c.author, c.date, c.subject) == (
        Address("Bo Berg", "bo@example.com"),
        datetime(2026, 3, 2, 18, 1, 12, tzinfo=CET),
        "Catering on Thursday",
    )
    assert c.text == "The caterer will deliver at 12:30 instead of 12:00. The order is unchanged.\n\nBo"
    assert c.forward == Forward(
        by=Address("Ana Lima", "ana@example.org"),
        date=datetime(2026, 3, 2, 18, 24, 51, tzinfo=CET),
        note="Heads-up: lunch arrives half an hour later on Thursday.",
    )
    assert c.html is not None and "\ufeff" not in c.html and "Sent from my iPhone" not in c.html
    # the same in HTML alone, and a note that is only the app's line with its link below it
    assert analysed(html_only("iphone-forward-sent-from-above-begin-forwarded.eml")).content.forward == c.forward
    only_app = make_mail(
        message_id="fwd-outlook-app@example.org",
        subject="Fwd: Catering on Thursday",
        body="Get Outlook for Android\n<https://aka.ms/AAb9ysg>\n\n"
        + "---------- Forwarded message ---------\nFrom: Bo Berg <bo@example.com>\n"
        + "Date: Mon, 2 Mar 2026 at 18:01\nSubject: Catering on Thursday\nTo: Ana Lima <ana@example.org>\n\n"
        + "The caterer will deliver at 12:30.\n",
    )
    forwarded = analysed(only_app).content
    assert forwarded.forward is not None and forwarded.forward.note == ""
    assert forwarded.text == "The caterer will deliver at 12:30."
