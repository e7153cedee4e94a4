"""Steps 3 to 6 on real-world charset, header and MIME quirks: each fixture named for its quirk is read right."""

from __future__ import annotations

import base64
from datetime import datetime

import pytest

from gateway import charsets
from gateway.charsets import decode_bytes
from gateway.html_text import html_to_text
from gateway.message import Address
from gateway.parse import parse
from gateway.parse_headers import decoded
from tests.helpers import analysed_fixture, html_of


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


def test_multipart_whose_header_writes_no_semicolon_before_its_boundary_is_read() -> None:
    """ "multipart/mixed" then "boundary=…" on the next line with no ";" names no boundary to the parser:
    the whole MIME body, boundaries and base64, was shown as the text, and no file was listed."""
    c = analysed_fixture("boundary-without-a-semicolon.eml").content
    assert c.text == "Scanned 1 page."
    assert [(a.filename, a.data[:4]) for a in c.attachments] == [("floor-plan.png", b"\x89PNG")]


def test_outlook_thai_windows_874_subject_author_and_bodies() -> None:
    """Outlook labels Thai "windows-874", a name Python's codecs do not know (cp874 is the same table)."""
    c = analysed_fixture("outlook-thai-windows-874.eml").content
    assert c.subject == "ย้ายประชุมทีม"
    assert c.author.name == "สมชาย ใจดี"
    assert c.text == "เรียนทุกท่าน\n\nประชุมทีมย้ายไปวันพฤหัสบดี เวลา 10:00 น. ห้องประชุมเล็ก\n\nสมชาย"
    assert html_to_text(html_of(c)) == c.text


def test_hebrew_iso_8859_8_i_subject_and_body() -> None:
    """ "-i" (logical order) names ISO-8859-8's bytes; the subject stayed as its raw encoded word."""
    c = analysed_fixture("thunderbird-hebrew-iso-8859-8-i.eml").content
    assert c.subject == "הפגישה נדחתה"
    assert c.text == "שלום לכולם,\nהפגישה נדחתה ליום חמישי בשעה 10:00.\nדנה"


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("windows-874", "cp874"),
        ("ISO-8859-8-I", "iso8859-8"),
        ("iso-8859-6-e", "iso8859-6"),
        ('"x-mac-roman"', "mac-roman"),
        ("x-sjis", "cp932"),
        ("windows-31j", "cp932"),
        ("x-gbk", "windows_936"),  # Windows' GBK: 0x80 is "€"
        ("cp-850", "cp850"),
        ("IBM-437", "cp437"),
        ("win-1257", "cp1257"),  # a Baltic mailer's label
        ("koi8-r*ru", "koi8-u"),  # RFC 2231's language after the charset; KOI8-U has KOI8-R's letters
        ("x-x-big5", "cp950"),  # Outlook's label; Windows' Big5 has "€" and the ETEN characters
        ("windows-936", "windows_936"),
        ("x-windows-874", "cp874"),
        ("unicode", "utf-16"),  # Windows' name for UTF-16
        ("utf-8", "utf-8"),
        ("ISO-8859-1", "cp1252"),  # what browsers read it as
        ("shift_jis", "cp932"),
        ("gb2312", "windows_936"),
        ("euc-jp", "cp51932"),  # Windows' EUC-JP: NEC's "①"
        ("ks_c_5601-1987", "cp949"),
        ("unknown-8bit", None),
        ("x-user-defined", None),
        ("no-such-charset", None),
        ("utf-8\x00", None),
        ("", None),
    ],
)
def test_charset_labels_mail_writes_map_to_python_codecs(label: str, name: str | None) -> None:
    assert charsets.codec(label) == name


def test_the_exact_table_is_there_when_the_superset_does_not_fit() -> None:
    assert charsets.codec("iso-8859-1", superset=False) == "iso8859-1"
    assert decode_bytes(b"\x81 \xe9", "iso-8859-1") == "\x81 é"  # 0x81 is undefined in Windows-1252


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"caf\xe9", "café"),
        ("Año".encode("cp1252"), "Año"),
        ("à bientôt".encode("cp1252"), "à bientôt"),
        ("Привет, как дела?".encode("cp1251"), "Привет, как дела?"),
        ("Žluťoučký kůň".encode("cp1250"), "Žluťoučký kůň"),
        # each of these came out wrong: Cyrillic, Chinese characters, or the other half of Europe's table
        ("Müller".encode("cp1252"), "Müller"),
        ("Ça".encode("cp1252"), "Ça"),
        ("Perché è così".encode("cp1252"), "Perché è così"),
        ("Łukasz".encode("cp1250"), "Łukasz"),
        ("Kraków".encode("cp1250"), "Kraków"),
        ("Dvořák".encode("cp1250"), "Dvořák"),
        ("Štěpán".encode("cp1250"), "Štěpán"),
        ("Gdańsk".encode("cp1250"), "Gdańsk"),
        ("Gergő".encode("cp1250"), "Gergő"),
        ("Ewa Wiśniewska".encode("cp1250"), "Ewa Wiśniewska"),
        ("Teşekkürler".encode("cp1254"), "Teşekkürler"),
        ("Привет".encode("cp1251"), "Привет"),
        ("ВАЖНО: отчёт".encode("koi8_r"), "ВАЖНО: отчёт"),
        ("Привет, как дела? Всё хорошо.".encode("koi8_r"), "Привет, как дела? Всё хорошо."),
        ("Привіт, як справи? Дякую.".encode("koi8_u"), "Привіт, як справи? Дякую."),
    ],
)
def test_short_undeclared_text_is_not_read_as_utf16_or_cjk(data: bytes, text: str) -> None:
    assert decode_bytes(data, "unknown-8bit") == text
    assert decode_bytes(data, None) == text


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        ("Björk Guðmundsdóttir", "cp1252"),  # Icelandic: the letters Windows-1254 has Turkish ones for
        ("Año nuevo, señor", "cp1252"),  # "ñ" before a vowel is Spanish
        ("Grüße aus Köln", "cp1250"),  # the same bytes in both tables
        ("Café crème, à bientôt", "cp1252"),
        ("here comes a weird char: õ", "cp1252"),  # a letter standing alone tells nothing
    ],
)
def test_western_text_stays_western(text: str, charset: str) -> None:
    assert decode_bytes(text.encode(charset), None) == text


def test_undeclared_8bit_italian_is_not_read_as_central_european() -> None:
    """A mailer that names no charset: detection found Windows-1250 as likely as Windows-1252
    on a short Italian text and chose it, "perché č cosě"."""
    c = analysed_fixture("undeclared-8bit-windows-1252-italian.eml").content
    assert c.subject == "Riunione spostata a giovedì"
    assert c.text == "Grazie, perché è così.\n\nGiulia"


def test_undeclared_8bit_polish_headers_are_read_as_polish() -> None:
    """Raw 8-bit headers with no charset anywhere were read as Windows-1252 ("Pawe³ Wiœniewski",
    "Gdañsku") while the body beside them was read right."""
    c = analysed_fixture("undeclared-8bit-windows-1250-polish.eml").content
    assert c.subject == "Notatki ze spotkania w Gdańsku"
    assert c.author == Address("Paweł Wiśniewski", "pawel@example.pl")
    assert c.text.startswith("Cześć,\n\nproszę o przesłanie notatek z piątku.")


def test_windows_1252_text_labelled_iso_8859_1_keeps_its_quotes_dashes_and_euro() -> None:
    """Outlook Express and many Windows mailers label Windows-1252 as ISO-8859-1: read as the
    label says, “ ” – … ’ and € were invisible C1 control characters, in the body and the subject."""
    c = analysed_fixture("iso-8859-1-label-on-windows-1252-text.eml").content
    assert c.subject == "“Lunch” on Friday – 240€"
    assert c.text == (
        "Hi all,\n\nthe caterer confirmed: “Lunch for 20 people, 12:30 – 13:30”. "
        "It costs 240€ in all … I’ll pay and collect later.\n\nCarla"
    )


def test_windows_31j_text_labelled_shift_jis_is_not_mojibake() -> None:
    """Japanese mail labelled Shift_JIS uses Windows' extra characters (①, Ⅱ, ㈱): one of them made
    the whole body fail to decode, and detection then read it as Windows-1252 mojibake."""
    c = analysed_fixture("shift-jis-label-on-windows-31j-text.eml").content
    assert c.subject == "明日の打ち合わせ①"
    assert c.author.name == "佐藤"
    assert c.text == "皆様\n\n明日の打ち合わせは①会議室Ⅱで行います。\n資料は㈱山田商事から届きました。\n\n佐藤"


def test_shift_jis_text_labelled_iso_8859_1_is_read_as_japanese_not_control_characters() -> None:
    """Windows-1252 has no letter for 0x81, which starts most Shift_JIS katakana ("ー", "・"): the label's
    exact table always decodes, into C1 control characters, so detection is asked, and a multi-byte
    charset it finds wins."""
    c = analysed_fixture("iso-8859-1-label-on-shift-jis-text.eml").content
    assert c.text == (
        "田中様\n\nサーバー・メンテナンスの日程を送ります。\n来週の火曜日、午後九時からです。\n\nピーター・ジョーンズ"
    )
    assert decode_bytes("ピーター".encode("shift_jis"), "us-ascii") == "ピーター"


def test_utf_8_text_labelled_us_ascii_is_read_as_utf_8_not_windows_1252() -> None:
    """Newsletter tools label parts US-ASCII and put UTF-8 in them: read as Windows-1252, the label's
    superset, every "·" and "é" came out as "Â·" and "Ã©", in the text and in the HTML."""
    c = analysed_fixture("us-ascii-label-on-utf-8-text.eml").content
    assert c.text == (
        "Tickets for the spring concert are on sale – €12, café included.\n\nRiverside Choir · 4 Mill Lane · Leeds · UK"
    )
    assert c.html is not None and "café included" in c.html and "Â" not in c.html
    assert decode_bytes("Straße".encode("cp1252"), "us-ascii") == "Straße"  # what is no UTF-8 stays Windows-1252


def test_utf_8_text_labelled_iso_8859_1_is_read_as_utf_8() -> None:
    """Mailers that label everything with their default charset send UTF-8 as ISO-8859-1: the label
    always decodes, so every umlaut came out as two letters ("fÃ¤llt")."""
    c = analysed_fixture("iso-8859-1-label-on-utf-8-text.eml").content
    assert c.subject == "Schulung am Montag fällt aus"  # the encoded word's label is as wrong as the body's
    assert c.text == (
        "Guten Morgen,\n\ndie Schulung am Montag fällt aus, weil der Raum für die Prüfung gebraucht wird.\n"
        "Neuer Termin: Dienstag, 10:00 Uhr, Raum Süd."
    )
    assert c.signature == "Viele Grüsse\nJürgen"
    assert decode_bytes("Grüße".encode("latin-1"), "iso-8859-1") == "Grüße"  # Latin-1 that is no UTF-8 stays
    assert decode_bytes("Привет".encode("koi8-r"), "koi8-r") == "Привет"
    assert decode_bytes("Привет".encode(), "koi8-r") == "Привет"


def test_encoded_words_keep_the_raw_text_between_them() -> None:
    """Text that came as raw 8-bit bytes between encoded words kept none of its letters past ASCII."""
    assert decoded("Zoë =?utf-8?q?caf=C3=A9?= 日本") == "Zoë café 日本"
    split = "Re: =?UTF-8?B?w5xiZXJzaQ==?=\n =?ISO-8859-1?Q?cht_f=FCr?= (Entwurf)"  # one word in two charsets
    assert decoded(split) == "Re: Übersicht für (Entwurf)"
    assert decoded("=?utf-8?q?a?= \\u00e9") == "a \\u00e9"  # a backslash of the sender's own stays one


def test_encoded_words_keep_the_space_beside_text_and_read_base64_missing_its_padding() -> None:
    """RFC 2047 drops whitespace between two encoded words only: the fold between a word and the text
    after it was dropped too ("✔(1476)"), and a word whose base64 a sender cut stayed encoded."""
    assert decoded("Build passed =?UTF-8?Q?=E2=9C=94?=\n (run 1476)") == "Build passed ✔ (run 1476)"
    assert decoded("=?utf-8?B?SGVsbG8gd?=") == "Hello"
    assert decoded("=?utf-8?Q?=E2=9C?=\n =?utf-8?Q?=94_done?=") == "✔ done"  # one character over two words
    assert decoded("=?utf-8?q?a?= x =?utf-8?q?b?=") == "a x b"


def test_an_encoded_words_charset_with_a_language_names_its_charset() -> None:
    """RFC 2231 lets an encoded word name its language after the charset: no codec was found by that
    label, and detection read the Russian as Chinese characters."""
    assert decoded("=?koi8-r*ru?B?98/Q0s/T?=") == "Вопрос"


def test_utf_8_text_with_one_stray_byte_stays_utf_8_with_a_mark_for_the_byte() -> None:
    """A multi-byte character cut in half made the whole body undecodable as UTF-8, and detection read
    all of it as a single-byte charset: "ÐžÑ‚Ñ‡Ñ'Ñ‚" for every word."""
    c = analysed_fixture("utf-8-text-with-a-stray-byte.eml").content
    assert c.text == "Добрый день!\n\nОтчёт за март\ufffd готов, он в общей папке."
    assert c.signature == "С уважением,\nОльга"
    assert decode_bytes("Café, Straße, déjà vu".encode("cp1252"), "utf-8") == "Café, Straße, déjà vu"  # no UTF-8 in it
    mixed = "Ça coûte 12€, déjà payé".encode() + " – été".encode("cp1252")  # Windows-1252 words pasted in
    assert decode_bytes(mixed, "utf-8") == "Ça coûte 12€, déjà payé – été"
    cut = "Привет, мир".encode()[:-1] + b" ok"  # a cut character beside Cyrillic letters stays a mark
    assert decode_bytes(cut, "utf-8") == "Привет, ми\ufffd ok"
    cut = "Le café – l’été".encode()[:-6] + b" x"  # "’" cut after two of its three bytes: one mark
    assert decode_bytes(cut, "utf-8") == "Le café – l\ufffd x"


def test_a_latin_1_list_footer_under_a_utf_8_body_reads_as_latin_1() -> None:
    """A list server appends its Latin-1 footer to a UTF-8 message: "über" was "\ufffdber", and
    with a few more such bytes the whole body went to detection and came out as mojibake."""
    c = analysed_fixture("utf-8-body-with-latin-1-list-footer.eml").content
    assert c.text == "Hallo zusammen,\n\ndie Präsentation für Donnerstag liegt im Wiki – bitte bis Mittwoch durchsehen."
    assert c.signature.endswith("Vereinsliste mailing list, Abmeldung über die Webseite")
    footer = "\n-- \nListe für Grüße".encode("latin-1")  # three stray bytes beside five UTF-8 characters
    body = "Grüße, ça va – très bien"
    assert decode_bytes(body.encode() + footer, "utf-8") == body + "\n-- \nListe für Grüße"


def test_raw_gb2312_subject_name_and_filename_are_read_in_the_messages_charset() -> None:
    """Foxmail and Outlook Express write headers as raw 8-bit bytes in the text's charset (here named on
    the multipart too): read as Windows-1252 they were mojibake in the subject, the author and the file."""
    c = analysed_fixture("foxmail-raw-gb2312-headers-and-filename.eml").content
    assert c.subject == "季度报告,请查收"
    assert c.author == Address("王小明", "xiaoming@example.cn")
    assert [a.filename for a in c.attachments] == ["季度报告.xls"]
    assert c.text == "大家好，\n\n季度报告在附件里，请查收。\n\n王小明"


def test_raw_shift_jis_headers_over_iso_2022_jp_text_are_read_as_shift_jis() -> None:
    """ISO-2022-JP is 7-bit: a mailer that sends its text in it writes raw header bytes in Windows' Shift_JIS."""
    c = analysed_fixture("raw-shift-jis-headers-over-iso-2022-jp-text.eml").content
    assert (c.subject, c.author.name) == ("会議資料", "鈴木 一郎")
    assert c.text == "会議の資料を添付します。\n\n鈴木"


def test_iso_2022_jp_with_windows_circled_numbers_is_read_whole() -> None:
    """Outlook writes ISO-2022-JP with CP932's codes (NEC's ①, Ⅲ): Python's codec refused the whole
    text, which then came out as its escape sequences ("$B-!"), and the subject stayed encoded."""
    c = analysed_fixture("iso-2022-jp-with-windows-circled-numbers.eml").content
    assert (c.subject, c.author.name) == ("議題①と②", "高橋")
    assert c.text == "皆様\n\n明日の議題は次の通りです。\n①予算\n②日程\nⅢ期の報告は来週です。\n\n高橋"
    # text Python's own codec reads is read as it reads it; a cut sequence is still refused
    assert decode_bytes("会議".encode("iso2022_jp"), "iso-2022-jp") == "会議"
    with pytest.raises(UnicodeDecodeError):
        b"\x1b$B-".decode("cp50221")


def test_attachment_names_in_charsets_python_does_not_know_by_that_label_or_raw_8bit() -> None:
    """Names were Latin-1 mojibake (an RFC 2231 name in "iso-8859-8-i"), a wrong guess (an RFC 2047
    one in "windows-874"), replacement characters (raw 8-bit UTF-8 or Windows-1252), or ten random
    letters and ".txt" for a PDF its sender named nothing."""
    c = analysed_fixture("attachment-names-in-many-charsets.eml").content
    assert [a.filename for a in c.attachments] == [
        "รายงาน.pdf",
        "שלום.pdf",
        "Prüfbericht März.pdf",
        "Kostenübersicht Q1.pdf",
        "attachment.pdf",
    ]
    assert all(a.data.startswith(b"%PDF-1.4") for a in c.attachments)


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("Mon, 2 Mar 2026 09:00:00 +0100 (CET)", "2026-03-02T09:00:00+01:00"),
        ("Mon, 02 Mar 2026 09:00:00 GMT+1", "2026-03-02T09:00:00+01:00"),  # was read as UTC
        ("Mon, 02 Mar 2026 09:00:00 GMT+05:30", "2026-03-02T09:00:00+05:30"),
        ("Mon, 02 Mar 2026 09:00:00 UTC-5 (EST)", "2026-03-02T09:00:00-05:00"),
        ("2026-03-02T09:00:00+01:00", "2026-03-02T09:00:00+01:00"),  # was no date: the import's day
        ("2026-03-02 09:00:00Z", "2026-03-02T09:00:00+00:00"),
        # a twelve-hour clock: the RFC's parser dropped "PM" and the zone, 18 hours off
        ("March 2, 2026 4:44:14 PM CST", "2026-03-02T16:44:14-06:00"),
        ("Mon, 2 Mar 2026 4:05 PM -0500", "2026-03-02T16:05:00-05:00"),
        # midnight's hour with a two-digit year, which only the RFC's parser reads: it was noon
        ("18 Feb 01 12:29:13 AM", "2001-02-18T00:29:13+00:00"),
        ("7/20/95 1:12pm", "1995-07-20T13:12:00+00:00"),  # was 2095: above every entry for 70 years
        # no RFC 5322 date, read as forward headers are, where the message had no date at all
        ("16 May 2016 at 09:30:32 GMT+1", "2016-05-16T09:30:32+01:00"),
        ("17-6-2008 17:10:08", "2008-06-17T17:10:08+00:00"),
        ("15 May 2016", "2016-05-15T00:00:00+00:00"),
    ],
)
def test_date_headers_as_scripts_and_odd_mailers_write_them(written: str, meant: str) -> None:
    raw = f"From: a@example.com\r\nDate: {written}\r\nMessage-ID: <d@x>\r\n\r\nhi\r\n".encode()
    assert parse(raw).date == datetime.fromisoformat(meant)


def test_a_message_without_a_date_is_dated_when_its_newest_received_header_says() -> None:
    """A cron report has no Date: it was dated on the day of an archive's import and topped the feed."""
    c = analysed_fixture("cron-report-without-date-header.eml").content
    assert c.date == datetime.fromisoformat("2017-03-14T08:05:12+01:00")  # the top hop's, not the one below


_HEAD = "From: a@example.com\r\nMessage-ID: <d@x>\r\n"


@pytest.mark.parametrize(
    ("headers", "meant"),
    [
        (
            "Date: Mon, 2 Mar 2026 09:00:00 +0100\r\nReceived: by mx; Tue, 3 Mar 2026 10:00:00 +0000\r\n",
            "2026-03-02T09:00:00+01:00",
        ),
        ("Date: yesterday\r\nReceived: by mx; Tue, 3 Mar 2026 10:00:00 +0000\r\n", "2026-03-03T10:00:00+00:00"),
        ("Received: by mx id 7 Tue, 3 Mar 2026 10:00:00 +0000\r\n", None),  # no ";": no stamp to trust
        (
            "Received: by mx; garbled\r\nReceived: by relay; Tue, 3 Mar 2026 09:59:00 +0000\r\n",
            "2026-03-03T09:59:00+00:00",
        ),
        (
            "Received: by a; x\r\nReceived: by b; y\r\nReceived: by c; z\r\n"
            "Received: by d; Tue, 3 Mar 2026 09:00:00 +0000\r\n",
            None,
        ),
        ("", None),
    ],
    ids=["date-wins", "unreadable-date", "no-semicolon", "next-hop", "only-newest-three", "neither"],
)
def test_a_missing_or_unreadable_date_falls_back_to_a_newest_received_stamp(headers: str, meant: str | None) -> None:
    raw = f"{_HEAD}{headers}\r\nhi\r\nReceived: by body; Tue, 3 Mar 2026 09:00:00 +0000\r\n".encode()
    assert parse(raw).date == (datetime.fromisoformat(meant) if meant else None)


def test_an_rfc_2231_name_with_raw_utf8_beside_its_escapes_is_read_not_quarantined() -> None:
    """Found by bench/fuzz.py: raw 8-bit bytes inside an RFC 2231 value made the name's reading raise,
    and the whole message went to quarantine ("parse failed")."""
    raw = (
        b"From: a@example.com\r\nSubject: plan\r\nMessage-ID: <p@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
        b"--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=UTF-8''%C3%96resund \xe2\x80\x93 plan.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n"
    )
    [attachment] = parse(raw).attachments
    assert attachment.filename == "Öresund – plan.pdf"


@pytest.mark.parametrize(
    ("written", "author"),
    [
        # Outlook encodes "Bürling, Andreas" as one unquoted word: the comma split the name
        (
            "=?iso-8859-1?Q?B=FCrling,=20Andreas?= <andreas@example.com>",
            Address("Bürling, Andreas", "andreas@example.com"),
        ),
        (
            '"=?iso-8859-1?Q?B=FCrling,=20Andreas?=" <andreas@example.com>',
            Address("Bürling, Andreas", "andreas@example.com"),
        ),
        # a script's From: with no angle brackets; the name was taken for part of the address
        ("Test test@example.com", Address("Test", "test@example.com")),
        ("Ana Lima ana@example.org", Address("Ana Lima", "ana@example.org")),
        ("ana@example.org (Ana Lima)", Address("Ana Lima", "ana@example.org")),
        ('"Lima, Ana" <ana@example.org>', Address("Lima, Ana", "ana@example.org")),
        # an empty address, and no Sender or Reply-To to take one from: the name is still who wrote it
        ('"Mark Whatney" <>', Address("Mark Whatney", "")),
    ],
)
def test_from_headers_as_odd_mailers_write_them_give_name_and_address(written: str, author: Address) -> None:
    raw = f"From: {written}\nTo: team@example.com\nSubject: Hello\nMessage-ID: <odd-from@example.com>\n\nHi\n"
    assert parse(raw.encode()).author == author


def test_big5_text_labelled_us_ascii_is_read_as_chinese() -> None:
    """US-ASCII cannot be right for 8-bit bytes; read as its superset, Windows-1252, the Chinese text
    was Latin mojibake ("¦U¦ì¦P¨Æ"). Such text is read as text with no label is."""
    c = analysed_fixture("us-ascii-label-on-big5-text.eml").content
    assert c.text.startswith("各位同事：明天下午三點在二樓會議室開會")
    assert decode_bytes("Straße".encode("cp1252"), "us-ascii") == "Straße"


def test_a_words_encoding_cut_between_two_words_is_read_across_the_cut() -> None:
    """Mailers cut base64 inside a group of four and quoted-printable inside an "=XX" between two
    encoded words: each read apart gave wrong letters after the cut, and a From: so cut made
    the email package raise in mail-parser's address reading, so the message was quarantined."""
    assert decoded("=?utf-8?b?Wm/Dq?= =?utf-8?b?yBNw7xsbGVy?=") == "Zoë Müller"
    assert decoded("=?utf-8?q?Zo=C3=?= =?utf-8?q?AB_M=C?=\n =?utf-8?q?3=BCller?=") == "Zoë Müller"
    assert decoded("=?utf-8?b?Wm/Dq?= =?iso-8859-1?b?yBNw7xsbGVy?=") != "Zoë Müller"  # two charsets: two texts
    raw = (
        b"From: =?utf-8?b?Wm/Dq?= =?utf-8?b?yBNw7xsbGVy?= <zoe@example.org>\nTo: team@example.com\n"
        b"Subject: s\nMessage-ID: <cut@x>\n\nThe draft is ready.\n"
    )
    assert parse(raw).author == Address("Zoë Müller", "zoe@example.org")


def test_japanese_sent_in_iso_2022_jp_with_no_charset_label_is_read() -> None:
    """ISO-2022-JP is 7-bit, so with no label it passed as UTF-8 and ASCII, its escape bytes were
    dropped and "$B%F%9%H(B" was shown; Japanese mobile carriers' mail often names no charset."""
    body = "会議は三時です。".encode("iso2022_jp")
    assert decode_bytes(body, None) == "会議は三時です。"
    assert decode_bytes(body, "us-ascii") == "会議は三時です。"
    raw = b"From: a@example.org\nTo: team@example.com\nSubject: s\nMessage-ID: <jis@x>\nMIME-Version: 1.0\n"
    for headers in (b"Content-Type: text/plain\n", b"Content-Transfer-Encoding: quoted-printable\n"):
        assert parse(raw + headers + b"\n" + body + b"\n").text.strip() == "会議は三時です。"
    assert decode_bytes("안녕하세요".encode("iso2022_kr"), None) == "안녕하세요"


def test_utf_16_with_no_byte_order_mark_koi8_u_thai_and_big5_under_narrower_labels_are_read() -> None:
    """Found writing mail in the world's charsets: UTF-16 with no byte-order mark, big-endian as RFC
    2781 says, came out as CJK characters; Ukrainian under KOI8-R as box drawing ("Прив╕т"); Thai
    Windows quotes and "€" under TIS-620 as controls; "€" and 碁 under Big5 garbled the whole text."""
    words = "Hello team, Привіт"
    assert decode_bytes(words.encode("utf-16-be"), "utf-16") == words
    assert decode_bytes(words.encode("utf-16-le"), "unicode") == words
    assert decode_bytes("Привіт, команда".encode("koi8-u"), "koi8-r") == "Привіт, команда"
    assert decode_bytes("ราคา €50 “ลด”".encode("cp874"), "tis-620") == "ราคา €50 “ลด”"
    assert decode_bytes("報價 €200 林碁生".encode("cp950"), "big5") == "報價 €200 林碁生"
    assert decode_bytes("鷗外".encode("iso2022_jp_2"), "iso-2022-jp") == "鷗外"
    raw = b"From: a@example.org\nSubject: s\nMessage-ID: <u16@x>\nMIME-Version: 1.0\n"
    body = b"Content-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n\n"
    assert parse(raw + body + base64.encodebytes(words.encode("utf-16-be"))).text.strip() == words
    thai = b"Content-Type: text/plain; charset=tis-620\nContent-Transfer-Encoding: 8bit\n\n"
    assert parse(raw + thai + "ราคา €50".encode("cp874") + b"\n").text.strip() == "ราคา €50"


def test_gbk_with_windows_euro_sign_is_read_as_code_page_936() -> None:
    """Windows writes "€" as 0x80 under a GB2312 label; Python's GBK has no character there, so the
    whole Chinese body and subject fell to detection and came out as Latin mojibake ("Íõ¾­Àí")."""
    c = analysed_fixture("gbk-windows-euro-sign.eml").content
    assert c.subject == "报价：每台 1200€"
    assert c.author == Address("李明", "li.ming@example.cn")
    assert c.text.startswith("王经理，您好：\n\n新打印机的报价是每台 1200€，含三年保修。\n")
    assert decode_bytes(b"\xd6\xd0\x80", "gbk") == "中€"
    with pytest.raises(UnicodeDecodeError):
        b"\xd6\xd0\xff\xff".decode("windows_936")  # other bytes GBK cannot read still fail


def test_euc_jp_with_nec_circled_numbers_is_read_as_code_page_51932() -> None:
    """Windows' EUC-JP writes the circled numbers Japanese lists use ("①") in NEC's row 13, which
    Python's EUC-JP lacks: the body fell to detection and came out as unrelated kanji ("備匏")."""
    c = analysed_fixture("euc-jp-nec-circled-numbers.eml").content
    assert c.subject == "議題：①予算 ②日程"
    assert c.author == Address("田中 一郎", "tanaka@example.jp")
    assert c.text == (
        "各位\n\n明日の会議の議題です。\n①予算の見直し\n②新オフィスの日程\n③その他\n\n資料は共有フォルダにあります。\n\n田中"
    )
    # half-width katakana and a JIS X 0212 kanji, which CP932 lacks, beside a NEC code
    assert decode_bytes(b"\xad\xa1 \x8e\xb6 \x8f\xb0\xa1", "euc-jp") == "① ｶ 丂"


def test_unlabelled_windows_1255_hebrew_is_not_read_as_cyrillic() -> None:
    """Hebrew's letters sit where Windows-1251 has small Cyrillic ones: unlabelled, the subject and
    body read as Russian-looking words ("щмен млемн" for "שלום לכולם")."""
    c = analysed_fixture("unlabelled-windows-1255-hebrew.eml").content
    assert c.subject == "הפגישה עוברת למחר"
    assert c.text.startswith("שלום לכולם,\n\nהפגישה השבועית עוברת מחר לשעה עשר בבוקר, בחדר הישיבות בקומה השנייה.\n")
    # Russian keeps its reading: small words with no "ы", "ь", "я"… have a Hebrew one, and lose
    for russian in ("спасибо", "шла саша по шоссе", "жук и мед"):
        assert decode_bytes(russian.encode("cp1251"), None) == russian
    assert decode_bytes("המחיר הוא 50 ₪ לאדם".encode("cp1255"), None) == "המחיר הוא 50 ₪ לאדם"


def test_a_utf_7_body_is_decoded_and_its_html_sanitized_after() -> None:
    """Old Outlook Express could send UTF-7: its bytes are ASCII, so the 7bit parts were shown as
    written ("Gr+APwA3w-e"). Decoded, its "<script>" (written "+ADw-script+AD4-") is one the
    sanitizer then sees and drops."""
    c = analysed_fixture("utf-7-body.eml").content
    assert c.subject == "Treffen am Freitag: 5 €"
    assert c.text.startswith("Grüße aus Zürich,\n\ndas Treffen am Freitag kostet 5 € pro Person, Kaffee inklusive.")
    assert c.html is not None
    assert "kostet 5 € pro Person" in c.html and "+AD" not in c.html
    assert "script" not in c.html and "alert" not in c.html


def test_an_mbox_from_line_saved_with_a_colon_is_not_the_author() -> None:
    """A tool saved the mbox separator as "From: addr  date" above the message's own From: field:
    the author read "steve_burt@cursor-system.comthuaug2212"."""
    raw = (
        b"From: Steve_Burt@cursor-system.com  Thu Aug 22 12:46:39 2002\nReturn-Path: <Steve_Burt@cursor-system.com>\n"
        b"From: Steve Burt <Steve_Burt@cursor-system.com>\nTo: list@example.org\nSubject: RE: Alexander\n"
        b"Message-ID: <m1@x>\n\nSo is this mountain limestone or granite?\n"
    )
    assert parse(raw).author == Address("Steve Burt", "steve_burt@cursor-system.com")
    # with no From: field of its own, the line is all the message says of its author
    alone = raw.replace(b"From: Steve Burt <Steve_Burt@cursor-system.com>\n", b"")
    assert parse(alone).author.address.startswith("steve_burt@cursor-system.com")


def test_windows_1250_text_labelled_iso_8859_2_is_read_as_windows_1250() -> None:
    """Outlook labels Windows-1250 text ISO-8859-2: its "ś", "Ś", "–" and quotes are C1 controls in
    the ISO table, which no text has, and showed as empty boxes ("Cze▯ć", "Małgorzata ▯wištek")."""
    c = analysed_fixture("windows-1250-labelled-iso-8859-2.eml").content
    assert c.subject == "Spotkanie w środę – ważne"
    assert c.text.startswith("Cześć wszystkim,\n\nspotkanie w środę o 14:00 – proszę przynieść „źródła”.")
    assert decode_bytes("Zażółć gęślą jaźń".encode("iso8859-2"), "iso-8859-2") == "Zażółć gęślą jaźń"  # true ISO


def test_windows_1251_text_labelled_iso_8859_1_is_read_as_cyrillic() -> None:
    """Cyrillic under a Western label read as "Ïðèâåò, êîìàíäà!": five accented letters in a row are
    no Western language's, and the bytes read as Russian words in Windows-1251."""
    c = analysed_fixture("windows-1251-labelled-iso-8859-1.eml").content
    assert (c.subject, c.author.name) == ("Встреча в пятницу", "Сергей Петров")
    assert c.text.startswith("Привет, команда!\n\nВстреча в пятницу в два часа. Отчёт во вложении.")
    for western in ("Grüße aus Zürich, Château, Größe", "Ça coûte 5 €, à bientôt"):
        assert decode_bytes(western.encode("cp1252"), "iso-8859-1") == western
