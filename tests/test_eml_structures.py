"""Steps 3 to 6 on the MIME structures real mail has: each fixture named for its structure is read right.

Attachment bytes are checked by their SHA-256 where they are binary: the fixture holds them base64-encoded.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from datetime import datetime, timedelta, timezone

import pytest

from gateway.classify import Verdict
from gateway.message import Address
from gateway.parse_text_files import uuencoded_files
from gateway.sanitize import rewrite_cid
from tests.helpers import EML, analysed, analysed_fixture

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8\xff"
TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"  # 0x223E9F78, little-endian
PKCS7_SIGNED_DATA = b"\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"  # SEQUENCE, OID 1.2.840.113549.1.7.2


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_outlook_related_html_points_at_both_inline_images_by_content_id() -> None:
    c = analysed_fixture("multipart-related-html-with-inline-images.eml").content
    assert c.text == (
        "Hi all,\n\n"
        "From Monday we are on the 3rd floor of Harbour House. Desks are marked on the plan:\n\n"
        "[Floor plan, 3rd floor]\n\n"
        "Bikes go in the courtyard; cars use level -1 of the garage, entrance from Kai Street:\n\n"
        "[Parking map]\n\n"
        "Maria"
    )
    assert c.html is not None
    assert re.findall(r"<img[^>]*>", c.html) == [
        '<img src="cid:image001.png@01DCAB12.5E3F7A90" alt="Floor plan, 3rd floor">',
        '<img src="cid:image002.jpg@01DCAB12.5E3F7A90" alt="Parking map">',
    ]
    assert [(a.filename, a.content_type, a.content_id, a.inline, len(a.data)) for a in c.attachments] == [
        ("image001.png", "image/png", "image001.png@01DCAB12.5E3F7A90", True, 103),
        ("image002.jpg", "image/jpeg", "image002.jpg@01DCAB12.5E3F7A90", True, 330),
    ]
    png, jpeg = (a.data for a in c.attachments)
    assert png.startswith(PNG_SIGNATURE)
    assert sha256(png) == "8d1a8b211e91089157c75d322734d5f939ec7b80e98e7f0cd4d3c7b6b5de34f0"
    assert jpeg.startswith(JPEG_SOI)
    assert sha256(jpeg) == "5e2f16ebb4858cd9c49c3af8b08d04a7fbb5996617bfe064ace2a3cfdfec678a"
    # every cid: the HTML uses is an attachment the web layer can point it at
    urls = {a.content_id: f"/attachments/1/{i}/{a.filename}" for i, a in enumerate(c.attachments)}
    assert re.findall(r'<img src="([^"]*)"', rewrite_cid(c.html, urls)) == [
        "/attachments/1/0/image001.png",
        "/attachments/1/1/image002.jpg",
    ]


def test_a_text_part_beside_an_html_banner_is_shown_with_it() -> None:
    """A scanning gateway put its HTML banner first and the author's plain text beside it, not as its
    alternative: the entry shows the HTML, and it showed the banner alone."""
    c = analysed_fixture("text-part-beside-an-html-banner.eml").content
    assert c.html is not None
    assert "scanned by MailGuard" in c.html
    assert "the server room is closed on Friday from 9:00 to 11:00 for the new racks." in c.html
    assert c.html.index("MailGuard") < c.html.index("server room")  # where each part stands
    assert c.text.endswith("the server room is closed on Friday from 9:00 to 11:00 for the new racks.\n\nNora")


def test_text_then_html_in_multipart_mixed_gives_the_text_once_and_the_html_as_the_body() -> None:
    c = analysed_fixture("mixed-text-then-html-not-alternative.eml").content
    # the same message twice, not two messages: the text is not followed by the HTML's rendering
    assert c.text == (
        "Hello team,\n\n"
        "room Öresund is booked for you on Thursday, 5 March 2026, 14:00–15:30.\n\n"
        "Please cancel at least two hours ahead if you no longer need it."
    )
    assert c.html is not None
    assert c.html.strip() == (
        "<p>Hello team,</p>\n"
        "<p>room <b>Öresund</b> is booked for you on Thursday, 5 March 2026, 14:00–15:30.</p>\n"
        "<p>Please cancel at least two hours ahead if you no longer need it.</p>"
    )
    assert c.attachments == []


def test_calendar_invitation_shows_its_text_and_lists_invite_ics_as_the_only_attachment() -> None:
    r = analysed_fixture("calendar-invite.eml")
    c = r.content
    assert r.verdict == Verdict("post")
    # the join link, organiser and guests are the invitation, not a signature
    assert c.text == (
        "Quarterly planning\n"
        "Thursday 12 March 2026 ⋅ 10:00 – 11:00\n"
        "Central European Time - Berlin\n\n"
        "Location\n"
        "Harbour House, room Öresund\n"
        "https://www.google.com/maps/search/Harbour+House,+room+%C3%96resund?hl=en\n\n"
        "Budget first, then the hiring plan. Slides follow on Wednesday.\n\n"
        "Join with Google Meet\n"
        "https://meet.google.com/kqv-trxd-mzp\n\n"
        "Organiser\n"
        "Ann Author\n"
        "ann@example.com\n\n"
        "Guests\n"
        "Ann Author - organiser\n"
        "team@example.com"
    )
    assert c.signature == ""
    # the text/calendar alternative is the same event as invite.ics: one attachment, not two
    assert [(a.filename, a.content_type, a.inline) for a in c.attachments] == [("invite.ics", "application/ics", False)]
    ics = c.attachments[0].data
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"\r\nMETHOD:REQUEST\r\n" in ics
    assert sha256(ics) == "8e6f7fffc27bd2ed31259810f3231558c9dd7a91b5315f66ec531c66598201ef"
    assert c.html is not None
    assert '<a href="https://meet.google.com/kqv-trxd-mzp" rel="noopener noreferrer nofollow">' in c.html


def test_smime_signed_text_shows_and_smime_p7s_is_an_attachment() -> None:
    c = analysed_fixture("smime-signed.eml").content
    assert c.text == (
        "The venue has signed; the contract is in the shared drive under Events/2026.\n"
        "The deposit is due by 20 March.\n\n"
        "Jonas"
    )
    assert c.html is None
    assert [(a.filename, a.content_type, a.inline) for a in c.attachments] == [
        ("smime.p7s", "application/pkcs7-signature", False)
    ]
    p7s = c.attachments[0].data
    assert p7s.startswith(PKCS7_SIGNED_DATA)
    assert sha256(p7s) == "54f431149ed2d98592183a37a26c959e58402c4d3daf81705635c7962c9e7cb0"


PGP_MIME_SIGNATURE = (
    "-----BEGIN PGP SIGNATURE-----\n"
    "\n"
    "iHUEABYIAB0WIQRuOhybUvBNh6Kxw9Tl9gcYKTpLXAUCaalUuQAKCRDl9gcYKTpL\n"
    "XKOJAP9IhXrVioElnebLMqv3WiYsfyJsG4t5P0HSHWfVNfsOLwEA3S30PJTEUsvA\n"
    "WhfBNb1RZOlXzLrb9SLLbB1kmgGGBB0=\n"
    "=YqJK\n"
    "-----END PGP SIGNATURE-----\n"
)


@pytest.mark.parametrize(
    "name", ["outlook-smime-opaque-signed.eml", "smime-opaque-signed-definite-length.eml"], ids=["ber-stream", "der"]
)
def test_an_opaque_smime_signature_shows_the_message_inside_it(name: str) -> None:
    """Signed "opaquely", the whole message is inside smime.p7m: unread, the post was empty."""
    a = analysed_fixture(name)
    assert a.content.text == "Hallo zusammen,\n\ndie Liste für Q2 ist fertig; Freigabe bis Freitag bitte.\n\nJonas"
    assert a.content.author == Address("Jonas Weber", "jonas.weber@example.de")
    assert a.content.attachments == []  # the signature itself stays in the raw message


def test_an_smime_encrypted_message_stays_one_encrypted_part() -> None:
    c = analysed_fixture("outlook-smime-encrypted.eml").content
    assert (c.text, [(x.filename, x.content_type) for x in c.attachments]) == (
        "",
        [("smime.p7m", "application/pkcs7-mime")],
    )


def test_pgp_mime_signed_text_shows_and_signature_asc_is_an_attachment() -> None:
    c = analysed_fixture("pgp-mime-signed.eml").content
    assert c.text == (
        "Hi all,\n\n"
        "2.4.1 is tagged and the tarball is on the download page. It fixes the\n"
        "digest time zone bug; nothing else changed."
    )
    assert c.signature == "--\nJens Vogt\nhttps://example.net/~jens"
    assert [(a.filename, a.content_type, a.data, a.inline) for a in c.attachments] == [
        ("signature.asc", "application/pgp-signature", PGP_MIME_SIGNATURE.encode(), False)
    ]


def test_pgp_clearsigned_text_shows_without_its_armour_and_the_signature_block_is_the_signature() -> None:
    c = analysed_fixture("pgp-inline-signed.eml").content
    # RFC 4880 §7: the armour header and Hash: line frame the message, they are not part of it
    assert c.text == (
        "Hi all,\n\n"
        "the SHA-256 of mailfeed-2.4.1.tar.gz is\n\n"
        "  3f9a0c7e5b21d84f6a0e9c3b7d15f2a86e4c0b9d7a3f51e28c6d4b0a9e7f3c15\n\n"
        "Please check it before you deploy.\n\n"
        "Jens"
    )
    assert c.signature == (
        "-----BEGIN PGP SIGNATURE-----\n"
        "\n"
        "iHUEARYIAB0WIQRuOhybUvBNh6Kxw9Tl9gcYKTpLXAUCaalkkwAKCRDl9gcYKTpL\n"
        "XNnSAP9qfJ81OLkZxEnwnKRzmnZg/hxPa4lj70RL6FbTFFnE/QD/Vak3M4QjzulJ\n"
        "iuZ0g6ME1p3kUUTFrRJ28XQKx7lkB9A=\n"
        "=DeOT\n"
        "-----END PGP SIGNATURE-----"
    )


def test_outlook_winmail_dat_next_to_the_text_gives_the_file_inside_it() -> None:
    """Readers outside Outlook cannot open winmail.dat: the file it wraps is the attachment."""
    c = analysed_fixture("winmail-dat-tnef.eml").content
    assert c.text == (
        "Hi all,\n\n"
        "the minutes from Tuesday are attached. The budget for Q2 is approved; "
        "Anna takes the rota in April and Ben in May.\n\n"
        "Petra"
    )
    assert [(a.filename, a.content_type, a.inline, a.data) for a in c.attachments] == [
        (
            "minutes.txt",
            "text/plain",
            False,
            b"Minutes, Tuesday 3 March\r\n\r\n1. Budget: approved for Q2.\r\n2. Rota: Anna in April, Ben in May.\r\n",
        )
    ]


def test_outlook_rich_text_files_take_their_long_names_and_types_from_the_winmail_dat() -> None:
    """Its MAPI properties name the file as Outlook showed it (Unicode), over the 8.3 title."""
    c = analysed_fixture("outlook-rich-text-winmail-dat-with-two-files.eml").content
    assert c.text == "Hallo zusammen,\n\nanbei das Protokoll vom Dienstag und das Budget für Q2.\n\nJonas"
    assert [(a.filename, a.content_type, len(a.data)) for a in c.attachments] == [
        ("Protokoll März 2026.pdf", "application/pdf", 73),
        ("Budget Q2.csv", "text/csv", 37),  # no properties: its title, its type by its name
    ]
    assert c.attachments[0].data.startswith(b"%PDF-1.4") and c.attachments[1].data.endswith(
        "Räume;2000\n".encode("cp1252")
    )


def test_uuencoded_file_in_a_text_body_becomes_an_attachment_not_text() -> None:
    c = analysed_fixture("uuencoded-attachment-in-body.eml").content
    assert c.text == "Hello everyone,\n\nmy notes from Tuesday are below, as a file.\n\nKarl"
    assert [(a.filename, a.data) for a in c.attachments] == [
        (
            "notes.txt",
            b"Notes, Tuesday 3 March\n\n"
            b"- budget approved for Q2\n"
            b"- rota: Anna (April), Ben (May)\n"
            b"- next meeting: Tuesday 17 March, 10:00\n",
        )
    ]


def test_uuencoded_lines_with_padding_past_their_length_still_decode() -> None:
    """Lotus Notes pads a uuencoded file's short last line with characters binascii refuses as trailing
    garbage: the whole block stayed in the text, a screen of symbols, and no file was listed."""
    data = bytes(range(256)) * 3
    lines = [binascii.b2a_uu(data[i : i + 45]).decode().rstrip("\n") for i in range(0, len(data), 45)]
    lines[-1] += "(T_]EK"  # past the 3 bytes its length character gives
    with pytest.raises(binascii.Error):
        binascii.a2b_uu(lines[-1])
    text, files = uuencoded_files("The photo, as promised.\n\nbegin 644 photo.bin\n" + "\n".join(lines) + "\n`\nend\n")
    assert (text, files) == ("The photo, as promised.", [("photo.bin", data)])


def test_apple_mails_image_placeholder_is_not_shown_as_text() -> None:
    """Apple Mail writes U+FFFC in its text part where the HTML has an inline image: the entry, its
    snippet and the digest showed a box; the image is in the HTML and the files."""
    c = analysed_fixture("apple-mail-image-placeholder-in-text.eml").content
    assert c.text == "Here is the new floor plan:\n\n\nThe kitchen moves to the east side.\n\nMaja"
    assert "\ufffc" not in c.snippet
    assert [a.filename for a in c.attachments] == ["floor-plan.png"]


def test_a_text_file_shown_inline_loses_its_byte_order_mark() -> None:
    """Notepad starts a UTF-8 file with a byte-order mark; shown inline under the author's words, it was
    an invisible character at the start of the line, in the text and its search."""
    c = analysed_fixture("inline-text-file-with-byte-order-mark.eml").content
    assert c.text == "My notes are in the file below.\n\nRoom 4.12: projector cable is missing."
    assert c.attachments[0].data.startswith("\ufeff".encode())  # the file itself is kept as sent


def test_postfix_delivery_status_bounce_is_ignored_not_posted() -> None:
    r = analysed_fixture("delivery-status-bounce.eml")
    # Postfix also marks its bounces Auto-Submitted: auto-replied (RFC 3834 §5); the report is looked
    # at first, so the admin reads "bounce", not "auto-reply"
    assert r.verdict == Verdict("ignore", "bounce (multipart/report)")


def test_exchange_automatic_reply_is_ignored_not_posted() -> None:
    r = analysed_fixture("out-of-office-auto-reply.eml")
    assert r.verdict == Verdict("ignore", "auto-reply (Auto-Submitted: auto-replied)")


def test_html_only_newsletter_reads_as_text_and_loads_nothing_remote() -> None:
    c = analysed_fixture("html-only-newsletter-with-tracking.eml").content
    assert c.subject == "March at Harbour House: new café, bike repair day"
    # <style> and <title> do not leak into the text; layout tables become paragraphs
    assert c.text == (
        "March at Harbour House\n\n"
        "The café on the ground floor opens on Monday 9 March. Tenants get 10% off until Easter.\n\n"
        "See the menu (https://harbourhouse.example/cafe?utm_source=newsletter&utm_medium=email"
        "&utm_campaign=march-2026)\n\n"
        "Bike repair day\n\n"
        "Saturday 21 March, 10:00–14:00 in the courtyard. Bring your bike; parts at cost.\n\n"
        "Quiet mornings\n\n"
        "From 1 April the 4th floor is a quiet floor on weekday mornings.\n\n"
        "You receive this because your company is a tenant at Harbour House.\n"
        "Unsubscribe (https://harbourhouse.example/unsubscribe?u=8f3a21&id=51c2e0&utm_source=newsletter"
        "&utm_medium=email) · Update preferences (https://harbourhouse.example/preferences?u=8f3a21"
        "&utm_source=newsletter&utm_medium=email)"
    )
    html = c.html
    assert html is not None
    # the layout tables are kept, the two columns side by side
    assert html.count("<table>") == 3
    assert "<td>\n<h2>Bike repair day</h2>" in html
    assert "<td>\n<h2>Quiet mornings</h2>" in html
    # nothing that a browser would fetch: no src but cid:, no CSS, no background attribute
    assert re.findall(r"\ssrc=", html) == []
    assert "<style" not in html
    assert "style=" not in html
    assert "background" not in html
    assert "hero-march.jpg" not in html
    assert "<title>" not in html
    assert html.count('rel="noopener noreferrer nofollow"') == 3
    # a 1x1 tracking pixel is no picture: no "[image]" placeholder a reader could load it from
    assert "track/open.php" not in html


def test_a_file_part_its_sender_named_nothing_is_an_attachment() -> None:
    """A scanner sends its PDF as "Content-Type: application/pdf" alone: no name, no disposition, no
    Content-ID. mail-parser passes such a part over, so the entry showed no trace of the scan."""
    c = analysed_fixture("scanner-pdf-part-without-name-or-disposition.eml").content
    assert c.text == "Scanned from MFP-3rd-floor. Pages: 1"
    [pdf] = c.attachments
    assert (pdf.filename, pdf.content_type) == ("attachment.pdf", "application/pdf")
    assert pdf.data.startswith(b"%PDF-1.4\n") and pdf.data.endswith(b"%%EOF\n")


def test_inline_images_named_only_by_their_content_id_get_a_file_name() -> None:
    """An image with no name parameter (Outlook's "filename=" on Content-Type, or name="") was listed under
    its Content-ID: "9f2c41d0…@mail.example.com", a download that looked like a .com file."""
    c = analysed_fixture("inline-images-named-only-by-content-id.eml").content
    assert [(a.filename, a.content_id) for a in c.attachments] == [
        ("image001.png", "image001.png@01DCB9A1.5E3F2A70"),  # the file name the id holds
        ("attachment.png", "9f2c41d07be84a6e8e1f3a52c7d90b11@mail.example.com"),
    ]
    assert c.html is not None and c.html.count("<img") == 2  # still shown in place, by Content-ID


def test_a_transfer_encoding_with_a_trailing_space_is_still_decoded() -> None:
    """ "base64 " was compared as written, so the body was shown as its base64."""
    c = analysed_fixture("transfer-encoding-with-trailing-space.eml").content
    assert c.text == "Grüße aus dem Lager: die Lieferung kommt am Montag."


def test_an_inline_pgp_encrypted_body_is_an_encrypted_file_not_a_screen_of_base64() -> None:
    """mutt (and Enigmail's inline mode) encrypt the text/plain body itself: its armour was the entry."""
    c = analysed_fixture("mutt-inline-pgp-encrypted.eml").content
    [asc] = c.attachments
    assert (c.text, c.snippet, asc.filename) == ("", "", "encrypted.asc")
    assert asc.data.startswith(b"-----BEGIN PGP MESSAGE-----\n\n") and asc.data.endswith(b"-----END PGP MESSAGE-----\n")
    # a note written around the armour stays; the armour goes to the file
    c = analysed_fixture("mutt-inline-pgp-encrypted-with-note.eml").content
    assert [x.filename for x in c.attachments] == ["encrypted.asc"]
    assert c.text == "Key for those who asked: encrypted to the ops keys as before, the old ones are revoked.\n\nJonas"


def test_pgp_armour_quoted_cut_short_or_repeated_is_read_in_one_bounded_pass() -> None:
    from gateway.parse_text_files import MAX_PGP_MESSAGES, pgp_messages

    begin, end = "-----BEGIN PGP MESSAGE-----\n", "-----END PGP MESSAGE-----\n"
    quoted = f"Thanks!\n\n> {begin}> hQEMA\n> {end}"
    assert pgp_messages(quoted) == (quoted, [])  # history, not this author's message
    assert pgp_messages(begin + "hQEMA\n") == (begin + "hQEMA\n", [])  # no END: not an armour
    text, files = pgp_messages((begin + "hQEMA\n" + end) * (MAX_PGP_MESSAGES + 5))
    assert len(files) == MAX_PGP_MESSAGES and text.count(begin) == 5
    text, files = pgp_messages(begin * 50_000 + "x\n" + end)  # each BEGIN once: quadratic took minutes
    assert len(files) == 1 and text.count(begin.strip()) == 49_999


def test_a_blank_line_above_the_headers_is_skipped_not_a_message_without_headers() -> None:
    """Some tools save a message with an empty line first; the header block is still the one below it."""
    a = analysed_fixture("leading-blank-line-before-headers.eml")
    assert a.message_id == "leading-blank-1@example.org"
    assert a.chain == ["numbers-1@example.com"]
    assert a.content.author == Address("Ana Lima", "ana@example.org")
    assert a.content.subject == "Re: Quarterly numbers"
    assert a.content.text == "The numbers add up; I checked them against the ledger."
    assert a.content.quoted_text.startswith("On Mon, Mar 2, 2026 at 6:01 PM Bo Berg")


def test_a_tools_preamble_line_above_the_headers_is_skipped() -> None:
    """Kerio saves a message under "---- Original email message ----": one line, then the header block."""
    a = analysed_fixture("kerio-preamble-line-above-headers.eml")
    assert a.message_id == "kerio-preamble@example.cz"
    assert (a.content.author, a.content.subject) == (
        Address("Petra Novakova", "petra@example.cz"),
        "Contact from the web form",
    )
    assert a.content.text == "Dobry den, please call me back about the quote for the server room."


def test_a_multipart_whose_parts_never_close_is_read_not_quarantined() -> None:
    """A nested multipart that reuses its parent's boundary and never closes has no epilogue, and
    mail-parser's search for one raised AttributeError: the build report was quarantined."""
    c = analysed_fixture("multipart-never-closed-boundary-reused.eml").content
    assert (c.subject, c.text) == ("Nightly build 2026-03-25", "Nightly build passed: 412 tests, 0 failures.")


def test_header_fields_written_with_a_space_before_the_colon_are_read() -> None:
    """RFC 5322's obsolete syntax allows "Subject :": the parser took the field for the end of the
    header, so the subject and the date went into the body (or, as the first field, the message
    was quarantined with no header block)."""
    c = analysed_fixture("header-fields-with-space-before-colon.eml").content
    assert c.subject == "Printer on the 2nd floor"
    assert c.date == datetime(2026, 3, 30, 8, 15, tzinfo=timezone(timedelta(hours=2)))
    assert c.text == "The printer on the 2nd floor is out of toner."
    raw = (EML / "header-fields-with-space-before-colon.eml").read_bytes().replace(b"From:", b"From :", 1)
    assert analysed(raw).content.author == Address("Old Mailer User", "olduser@example.com")  # was quarantined


def test_a_message_whose_one_text_part_has_a_name_shows_it_as_its_body() -> None:
    """Old mailers name the body ("Content-Type: text/plain; name=note.txt", no "attachment"): it was
    listed as a file only, and the entry was blank."""
    c = analysed_fixture("named-text-part-as-the-whole-body.eml").content
    assert c.text == "All sensors reported on time this week."
    assert [a.filename for a in c.attachments] == ["note.txt"]


def test_a_body_whose_content_type_is_written_wrong_is_shown_not_dropped() -> None:
    """mail-parser reads text/plain and text/html bodies alone: "text/plain>" and a Content-Type that
    runs into the next field lost the whole body, with no text, no file and no reason."""
    c = analysed_fixture("content-type-with-trailing-junk.eml").content
    assert c.text == "The quarterly numbers are on the wiki page.\nPlease review them before Friday."
    c = analysed_fixture("content-type-with-another-field-run-in.eml").content
    assert c.text == "The meeting moved to Thursday at 3pm."
    assert c.html is not None and "<b>Thursday</b>" in c.html
    enriched = analysed(
        b"From: a@example.org\nTo: team@example.com\nSubject: s\nMessage-ID: <e@x>\nMIME-Version: 1.0\n"
        b"Content-Type: text/enriched\n\nThe <bold>agenda</bold> is ready.\n"
    ).content
    assert "agenda" in enriched.text


def test_base64_with_a_character_past_its_last_group_of_four_is_decoded() -> None:
    """One character past the last whole group: the email package gives such a body back undecoded,
    and the entry showed the base64 itself; the file was stored as its base64 text."""
    c = analysed_fixture("base64-with-a-character-past-its-last-group.eml").content
    assert c.text == "The venue moved to room 4B, same time."
    [pdf] = c.attachments
    assert (pdf.filename, pdf.data) == ("agenda.pdf", b"%PDF-1.4\n% mailfeed test file\n%%EOF\n")
    # a text written as it is under a wrong "base64", five letters long, is not read as base64
    hello = b"From: b@example.org\nSubject: s\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nHello\n"
    assert analysed(hello).content.text == "Hello"
    # words under a wrong "base64": the email package decoded what letters there were ("\x02Y`\xa2…")
    assert analysed(hello.replace(b"Hello", b"All good here")).content.text == "All good here"


def test_a_line_in_the_header_that_is_no_field_is_skipped() -> None:
    """A gateway's note written into the header as a bare line: the email package ended the header
    there, so the message had no author and no subject (as its second line, no header at all)."""
    c = analysed_fixture("header-line-that-is-no-field.eml").content
    assert (c.author, c.subject) == (Address("Alice Doe", "alice@example.org"), "Quarterly numbers")
    assert c.text == 'The numbers are on the wiki, page "Q1".'
    raw = (EML / "header-line-that-is-no-field.eml").read_bytes()
    spaced = raw.replace(b"Subject:", b"Sub ject: x\nSubject:")  # a field name with a space inside
    assert analysed(spaced).content.subject == "Quarterly numbers"
    # two such lines in a row ("From" and ": <addr>", a name cut from its value): both go, and the
    # message was quarantined as having no header block at all
    split = raw.replace(b"Subject:", b"From\n: <mallory@example.net>\nSubject:")
    assert (analysed(split).content.author.address, analysed(split).content.subject) == (
        "alice@example.org",
        "Quarterly numbers",
    )
    body_start = b"From: a@example.org\nSubject: s\n\nHi all\nNote: the meeting moved.\n"  # a body is left alone
    assert analysed(body_start).content.text == "Hi all\nNote: the meeting moved."


def test_two_text_alternatives_of_one_message_are_shown_once() -> None:
    """A multipart/alternative with the text twice (plain, then format=flowed): they are one text in
    two forms, and mail-parser showed both, the same words twice. The last, the sender's choice, is shown."""
    c = analysed_fixture("alternative-with-two-text-parts.eml").content
    assert c.text == "Please send your lunch order by noon. The menu is on the wiki."


def test_a_boundary_with_8bit_bytes_in_it_divides_the_parts() -> None:
    """The email package reads a boundary's 8-bit bytes in the header as marks, so it never met the
    body's "--==_été_2026" lines: the entry showed the raw MIME, boundaries and part headers."""
    c = analysed_fixture("utf-8-multipart-boundary.eml").content
    assert c.text == "The summer plans are final: the office closes from 1 to 15 August."
    assert [(a.filename, a.data) for a in c.attachments] == [("rota.csv", b"name,week\nEve,31")]


def test_a_from_of_two_addresses_with_no_comma_names_the_first_as_author() -> None:
    """The address parser reads "frank@example.org grace@example.org" as nothing, and the author was
    taken from Return-Path: a list's bounce address."""
    c = analysed(
        b"Return-Path: <bounce-handler@lists.example.net>\nFrom: frank@example.org grace@example.org\n"
        b"To: team@example.com\nSubject: Joint note\nMessage-ID: <joint@example.org>\n\nWe both agree.\n"
    ).content
    assert c.author == Address("", "frank@example.org")


@pytest.mark.parametrize(
    ("written", "author"),
    [
        ("Shawn Jones [shawn@example.org]", Address("Shawn Jones", "shawn@example.org")),
        ('"Jones, Shawn" [mailto:Shawn@Example.org]', Address("Jones, Shawn", "shawn@example.org")),
    ],
)
def test_an_address_in_square_brackets_is_the_authors(written: str, author: Address) -> None:
    """Outlook prints a sender "Name [address]", and tools that pass such a line on write it into From:;
    the message had no author at all."""
    raw = f"From: {written}\nTo: team@example.com\nSubject: s\nMessage-ID: <sq@x>\n\nHi.\n".encode()
    assert analysed(raw).content.author == author


def test_an_attachments_type_written_without_a_semicolon_before_its_name_is_the_type_alone() -> None:
    c = analysed(
        b"From: a@example.org\nTo: team@example.com\nSubject: s\nMessage-ID: <semi@x>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nThe plan.\n--b\n'
        b'Content-Type: application/pdf name="plan.pdf"\nContent-Disposition: attachment; filename="plan.pdf"\n'
        b"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n"
    ).content
    assert [(a.filename, a.content_type) for a in c.attachments] == [("plan.pdf", "application/pdf")]


def test_a_header_cut_in_two_by_blank_lines_is_read_whole() -> None:
    """A saved copy with blank and blank-looking lines inside its header: the author, the subject and
    the Content-Type below them were read as the body, and the entry had no author."""
    c = analysed_fixture("header-cut-in-two-by-blank-lines.eml").content
    assert (c.author, c.subject) == (Address("Jo Park", "jo@example.org"), "Test run results")
    assert c.text == "All 214 tests passed on the new build.\n\nJo"
    plain = b"Subject: s\nFrom: a@example.org\n\nTo: the team\nSubject: the plan\n\nText.\n"  # a whole header: kept
    assert analysed(plain).content.text == "To: the team\nSubject: the plan\n\nText."


def test_text_parts_of_other_types_beside_the_body_are_files() -> None:
    """mail-parser reads text/plain and text/html alone: a vCard or a CSV sent with no name was
    dropped, with no file and no trace on the page."""
    c = analysed_fixture("vcard-and-csv-parts-without-names.eml").content
    assert c.text == "The new supplier's contact card and price list are attached."
    assert [(a.filename, a.content_type) for a in c.attachments] == [
        ("attachment.vcf", "text/x-vcard"),
        ("attachment.csv", "text/csv"),
    ]
    assert c.attachments[1].data == b"item,price\npaper,4.20"


def test_a_boundary_folded_inside_its_quotes_divides_the_parts() -> None:
    """A long boundary folded inside its quotes reads, unfolded, with a space where the fold was, as
    its delimiter lines write it: the email package kept the line break, never met them, and the
    entry showed the raw MIME with the file lost in it."""
    c = analysed_fixture("boundary-folded-inside-its-quotes.eml").content
    assert c.text == "The budget meeting moved to Thursday. Minutes attached."
    assert [(a.filename, a.data) for a in c.attachments] == [("minutes.txt", b"1. Budget approved.")]


def test_a_file_named_like_mail_parsers_made_up_names_keeps_its_name() -> None:
    """mail-parser names a nameless part with ten random letters and ".txt"; "newsletter.txt" has that
    shape, and the sender's own file was listed as "attachment.bin"."""
    c = analysed_fixture("attachment-named-like-a-made-up-name.eml").content
    assert [a.filename for a in c.attachments] == ["newsletter.txt"]


def test_a_multipart_that_names_no_boundary_is_divided_at_its_first_delimiter() -> None:
    """ "Content-Type: multipart/mixed" and no boundary parameter: the email package cannot divide it,
    and the entry showed the raw MIME; the body's first "--sep" line names the boundary."""
    c = analysed_fixture("multipart-without-a-boundary-parameter.eml").content
    assert c.text == "The group photo is attached."
    assert [(a.filename, a.data) for a in c.attachments] == [("names.txt", b"Ann, Bo, Cy")]


def test_an_empty_last_alternative_leaves_the_text_before_it() -> None:
    """Of two text alternatives the last is shown; an empty last one stands for nothing."""
    raw = (EML / "alternative-with-two-text-parts.eml").read_bytes()
    cut = raw.replace(b"; format=flowed\n\nPlease send your lunch order by noon. The \nmenu is on the wiki.\n", b"\n\n")
    assert cut != raw
    assert analysed(cut).content.text == "Please send your lunch order by noon. The\nmenu is on the wiki."


def test_text_alternatives_with_a_charset_label_that_is_no_charset_are_read() -> None:
    """Found by the fuzz test: looking whether an alternative was empty decoded it by its label,
    and "bogus\\0" raised, so the message failed to parse."""
    raw = (
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\n'
        b'Content-Type: text/plain; charset="bogus\x00"\r\nContent-Disposition: attachment; filename="1"\r\n\r\n'
        b"\x80 one\r\n--b\r\n"
        b'Content-Type: text/plain; charset="bogus\x00"\r\nContent-Disposition: attachment; filename="2"\r\n\r\n'
        b"\x80 two\r\n--b--\r\n"
    )
    assert [a.filename for a in analysed(raw).content.attachments] == ["1", "2"]


def test_a_named_text_part_first_in_a_multipart_is_the_body_when_nothing_else_is() -> None:
    """Old mailers (and XEmacs' VM) name the body part of a multipart too; mail-parser lists every
    named part as a file only, and the entry was blank. The first one is the body; a named text
    part further down stays a file alone."""
    c = analysed_fixture("named-text-body-first-in-multipart.eml").content
    assert c.text == "The minutes are attached; the budget passed. Grüße, Bo"
    assert "secretary" not in c.text
    assert [a.filename for a in c.attachments] == ["message.txt", "notes.txt", "minutes.doc"]


def test_attachments_named_on_their_content_type_or_location_or_typed_by_name_alone() -> None:
    """A "filename" on the Content-Type and a Content-Location were no names to the email package
    ("attachment.pdf", "attachment.png"); a Content-Type of "pdf" reads as text/plain, and the PDF's
    bytes were shown as the message's text."""
    c = analysed_fixture("attachment-names-outside-the-usual-parameters.eml").content
    assert c.text == "Here are the report, the chart and my notes."
    assert sorted((a.filename, a.content_type) for a in c.attachments) == [
        ("chart-2026.png", "image/png"),
        ("notes.pdf", "application/pdf"),
        ("report-q3.pdf", "application/pdf"),
    ]
    assert all(a.data.startswith((b"%PDF", b"\x89PNG")) for a in c.attachments)


def test_a_multipart_marked_attachment_is_no_file_its_parts_are() -> None:
    """mail-parser lists a multipart with "Content-Disposition: attachment" as a file of its parts'
    source joined ("attachment", multipart/alternative), beside the parts themselves."""
    c = analysed(
        b"From: a@example.org\nTo: team@example.com\nSubject: s\nMessage-ID: <box@x>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="o"\n\n--o\nContent-Type: multipart/alternative; boundary="i"\n'
        b"Content-Disposition: attachment\n\n--i\nContent-Type: text/plain\n\nThe plan, in two forms.\n--i\n"
        b"Content-Type: text/html\n\n<p>The plan, in two forms.</p>\n--i--\n\n--o\n"
        b'Content-Type: application/pdf; name="plan.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--o--\n'
    ).content
    assert c.text == "The plan, in two forms."
    assert [(a.filename, a.content_type) for a in c.attachments] == [("plan.pdf", "application/pdf")]


@pytest.mark.parametrize(
    "fields",
    [
        b'Content-Disposition: attachment; filename="old.pdf"; filename*0="quarterly-"; filename*1="report.pdf"',
        b'Content-Disposition: attachment; filename*0="quarterly-"; filename*1="report.pdf"; filename="old.pdf"',
    ],
)
def test_an_rfc_2231_name_beside_a_plain_one_is_the_name(fields: bytes) -> None:
    """Mailers write both forms for old clients and new; the plain one was taken, and the file's
    real name (continued, or with letters past ASCII) was lost."""
    raw = (
        b"From: a@example.org\nTo: team@example.com\nSubject: s\nMessage-ID: <n@x>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\nHi.\n--b\n'
        b"Content-Type: application/pdf\n" + fields + b"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n"
    )
    assert [a.filename for a in analysed(raw).content.attachments] == ["quarterly-report.pdf"]
    accented = raw.replace(
        b"Content-Type: application/pdf\n" + fields,
        b"Content-Type: application/pdf; name=\"Bericht.pdf\"; name*=utf-8''B%C3%BCro.pdf",
    )
    assert [a.filename for a in analysed(accented).content.attachments] == ["Büro.pdf"]


def test_a_picture_pasted_as_a_data_url_becomes_an_inline_file() -> None:
    """A web editor kept the pasted picture in the <img> as a data: URL; the sanitizer lets none
    through, so the reader saw nothing. Now it is a stored file the <img> points at, once for both
    uses; an SVG (it can carry script) stays out."""
    c = analysed_fixture("html-pasted-data-url-image.eml").content
    [png] = c.attachments
    assert (png.filename, png.content_type, png.inline) == ("image-1.png", "image/png", True)
    assert png.data.startswith(PNG_SIGNATURE)
    assert sha256(png.data) == "551c84c9a77e21e2812ea58327041007861b1148311fa315398e14040db17274"
    assert c.html is not None and "data:" not in c.html
    assert re.findall(r"<img[^>]*>", c.html) == [
        f'<img src="cid:{png.content_id}" alt="printer display">',
        f'<img src="cid:{png.content_id}" alt="">',
    ]
    assert "<span>[image: vendor]</span>" in c.html
    assert (
        re.findall(r'<img src="([^"]*)"', rewrite_cid(c.html, {png.content_id: "/attachments/1/0/image-1.png"}))
        == ["/attachments/1/0/image-1.png"] * 2
    )
    assert "[printer display]" in c.text


def test_a_data_url_that_is_no_picture_is_no_file() -> None:
    from gateway.parse_images import data_images

    # three zero bytes declared PNG, and HTML declared GIF: neither starts as a picture does
    for src in ("data:image/png;base64,AAAA", "data:image/gif;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="):
        html = f'<p>x<img src="{src}"></p>'
        assert data_images(html) == (html, [])
    # a JPEG declared PNG is served as the JPEG it is
    _, [jpeg] = data_images('<img src="data:image/png;base64,/9j/4AAQSkZJRgABAQ==">')
    assert (jpeg.filename, jpeg.content_type) == ("image-1.jpg", "image/jpeg")
    # an alt text that names the pasted file names it
    _, [named] = data_images('<img alt="label-draft.png" src="data:image/png;base64,/9j/4AAQSkZJRgABAQ==">')
    assert named.filename == "label-draft.png"


def test_a_multipart_whose_first_delimiter_follows_the_header_with_no_blank_line_keeps_its_body() -> None:
    """The header ran on into the first part's fields, the delimiter was dropped as a line that is no
    field, and the HTML part, the whole message, was lost: the entry showed only the picture."""
    c = analysed_fixture("multipart-delimiter-right-below-the-header.eml").content
    assert c.subject == "Badge photos on Thursday"
    assert c.text == (
        "Badge photos are taken on Thursday from 10:00 in room 2.14.\n\n"
        "Bring your old badge; the QR code below opens the booking page."
    )
    assert [(a.filename, a.content_type, a.content_id) for a in c.attachments] == [
        ("booking-qr.png", "image/png", "qrcode")
    ]
    assert c.attachments[0].data.startswith(PNG_SIGNATURE)


def test_named_renditions_of_a_multipart_alternative_are_the_body_not_files() -> None:
    """A reporting mailer names its text part and puts a file name on its HTML: both were listed as
    files beside the body they are, the same words three times on the page."""
    c = analysed_fixture("alternative-renditions-named-as-files.eml").content
    assert c.attachments == []
    assert c.text == "Tickets opened: 42\nTickets closed: 39\nOldest open ticket: #3107 (printer on floor 2)"
    assert c.html is not None and "<b>42</b>" in c.html


def test_a_newsletters_preview_line_hidden_by_its_style_sheet_is_not_shown() -> None:
    """The preview line and its padding were hidden by classes the <style> hides; sanitizing dropped
    the sheet, so the entry and its snippet opened with them. A class hidden inside @media only is
    shown; the list's "<li><p>" items keep their words on the bullet's line."""
    c = analysed_fixture("newsletter-preview-line-hidden-by-class.eml").content
    assert c.text.startswith("New arrivals: linen season\n\nOur spring catalogue, page by page.")
    assert "Linen shirts are back" not in c.text + (c.html or "") + c.snippet
    assert "- Linen shirts in six colours\n\n- Free repairs for anything bought here" in c.text
    assert "\u034f" not in c.text and "\u200c" not in c.text


def test_a_web_page_sent_as_a_named_part_beside_the_text_is_a_file_not_the_body() -> None:
    """Netscape's "send page": the message's text, then the page as an inline text/html part with
    a file name. The page was shown in the text's place."""
    raw = (
        b"From: Lennie <lennie@example.org>\nTo: team@example.com\nSubject: Test page\nMessage-ID: <page@x>\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain\n\n'
        b"This is the message body. A picture should also be displayed.\n--b\n"
        b'Content-Type: text/html; name="Pull3.html"\nContent-Disposition: inline; filename="Pull3.html"\n\n'
        b"<html><body>This is Page 3 of my rolling web page demo.</body></html>\n--b--\n"
    )
    c = analysed(raw).content
    assert c.text == "This is the message body. A picture should also be displayed." and c.html is None
    assert [(a.filename, a.content_type) for a in c.attachments] == [("Pull3.html", "text/html")]
    # an HTML body with no name beside the text stays the body (a gateway's banner and the text), and
    # so does an alternative's HTML beside an HTML file
    banner = analysed_fixture("text-part-beside-an-html-banner.eml").content
    assert banner.html is not None and "server room" in banner.html
    with_file = (
        b"From: a@example.org\nTo: team@example.com\nSubject: s\nMessage-ID: <f@x>\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="m"\n\n--m\nContent-Type: multipart/alternative; boundary="a"\n\n'
        b"--a\nContent-Type: text/plain\n\nPlain words\n--a\nContent-Type: text/html\n\n<p>Rich words</p>\n--a--\n"
        b'--m\nContent-Type: text/html; name="page.html"\nContent-Disposition: attachment; filename="page.html"\n\n'
        b"<p>A saved page</p>\n--m--\n"
    )
    kept = analysed(with_file).content
    assert kept.html is not None and "Rich words" in kept.html and "saved page" not in kept.html
