"""Steps 3 to 6 on real-world charset, header and MIME quirks: each fixture named for its quirk is read right."""

from __future__ import annotations

from gateway.message import Address
from tests.helpers import analysed_fixture


def test_latin1_body_declared_as_utf8_is_read_as_windows_1252() -> None:
    c = analysed_fixture("declared-utf8-body-in-latin1.eml").content
    assert "\ufffd" not in c.text
    assert c.text == (
        "Wir treffen uns im Café Grün um 10 Uhr, der Eintritt kostet 5 €.\n"
        "Die Straße ist gesperrt, bitte über den Hof kommen.\n"
        "À bientôt, la réunion coûte 12 € par tête."
    )


def test_unknown_8bit_charset_name_falls_back_to_utf8() -> None:
    c = analysed_fixture("unknown-charset-name.eml").content
    assert "\ufffd" not in c.text
    assert c.text == "Grüße aus Zürich: das Büro öffnet um 9 Uhr, der Kaffee kostet 3 €."


def test_adjacent_encoded_words_join_without_the_folding_space() -> None:
    c = analysed_fixture("rfc2047-encoded-words.eml").content
    # "Übersi" (UTF-8, B) and "cht für März" (ISO-8859-1, Q) are split over a fold: RFC 2047 §6.2
    assert c.subject == "Re: Übersicht für März (Entwurf)"
    assert c.author == Address("Zoë Ångström", "zoe@example.com")
    assert c.text == "The March overview is in the shared folder."


def test_raw_utf8_subject_and_from_name_are_read_as_utf8() -> None:
    c = analysed_fixture("raw-utf8-headers-rfc6532.eml").content
    assert c.subject == "Grüße aus Köln – Ausflug am Sonntag 🚲"
    assert c.author == Address("Zoë Ångström", "zoe@example.com")
    assert c.text == "Wir fahren um 9 Uhr am Dom los."


def test_multipart_without_closing_boundary_keeps_its_text_and_html() -> None:
    c = analysed_fixture("missing-closing-boundary.eml").content
    assert c.text == "Agenda: budget first, then the rota."
    assert c.html == "<p>Agenda: <b>budget</b> first, then the rota.</p>"


def test_multipart_whose_boundary_never_occurs_keeps_the_body_as_text() -> None:
    c = analysed_fixture("boundary-not-in-body.eml").content
    assert c.subject == "Minutes from Monday"
    assert c.text == "Minutes: the budget was approved.\nNext meeting on the 16th."


def test_four_hundred_received_headers_still_give_subject_author_and_text() -> None:
    c = analysed_fixture("many-received-headers.eml").content
    assert c.subject == "Looped but readable"
    assert c.author == Address("Ann Author", "ann@example.com")
    assert c.text == "This one went round the relays four hundred times."


def test_rfc2231_and_rfc2047_attachment_names_are_decoded_and_made_safe() -> None:
    c = analysed_fixture("rfc2231-and-rfc2047-attachment-names.eml").content
    assert c.text == "Four files attached."
    assert [(a.filename, a.content_type, a.data) for a in c.attachments] == [
        ("€ rates 2026.pdf", "application/pdf", b"%PDF-1.4 rates\n"),
        (
            "Prüfung Bericht.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"PK\x03\x04report",
        ),
        (
            "Kostenübersicht.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            b"PK\x03\x04costs",
        ),
        ("passwd", "text/plain", b"root:x:0:0:root:/root:/bin/sh\n"),
    ]


def test_gbk_text_labelled_gb2312_is_decoded_without_replacement_characters() -> None:
    c = analysed_fixture("gb2312-labelled-gbk-text.eml").content
    assert c.subject == "周五会议"
    assert "\ufffd" not in c.text
    # 喆 and 堃 are in GBK but not in GB2312
    assert c.text == "各位好：\n本周五的会议由王喆和李堃主持，请准时参加。"


def test_multipart_whose_header_names_another_boundary_is_read_with_the_bodys() -> None:
    c = analysed_fixture("boundary-rewritten-in-header.eml").content
    assert c.text == "The agenda for Thursday is below; slides attached.\n\n1. Budget\n2. Hiring \u2014 two roles"
    assert [(a.filename, a.content_type, a.data[:8]) for a in c.attachments] == [
        ("slides.pdf", "application/pdf", b"%PDF-1.4")
    ]
