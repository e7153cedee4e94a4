"""winmail.dat (TNEF) read for its files: a part that cannot be read stays as it came, and no input
makes the reading raise or run long."""

from __future__ import annotations

import base64
import email
import random
import struct
from email import policy

from gateway.message import Attachment
from gateway.tnef import MAX_ATTRIBUTES, SIGNATURE, unpacked
from tests.helpers import EML, analysed


def _winmail(name: str) -> bytes:
    msg = email.message_from_bytes((EML / name).read_bytes(), policy=policy.default)
    [part] = [p for p in msg.walk() if p.get_content_type() == "application/ms-tnef"]
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes) and data.startswith(SIGNATURE)
    return data


def _as_attachment(data: bytes) -> Attachment:
    return Attachment(filename="winmail.dat", content_type="application/ms-tnef", data=data)


def test_a_winmail_dat_cut_short_or_garbled_stays_winmail_dat() -> None:
    data = _winmail("outlook-rich-text-winmail-dat-with-two-files.eml")
    assert [a.filename for a in unpacked([_as_attachment(data)])] == ["Protokoll März 2026.pdf", "Budget Q2.csv"]
    for broken in (data[:40], data[:-3], SIGNATURE + b"\x00\x00" + b"\xff" * 64):
        assert unpacked([_as_attachment(broken)]) == [_as_attachment(broken)]


def test_other_attachments_pass_untouched() -> None:
    pdf = Attachment(filename="plan.pdf", content_type="application/pdf", data=b"%PDF-1.4")
    lookalike = Attachment(filename="notes.bin", content_type="application/octet-stream", data=SIGNATURE + b"x")
    assert unpacked([pdf, lookalike]) == [pdf, lookalike]


def test_random_damage_never_raises() -> None:
    rng = random.Random(3)
    good = _winmail("outlook-rich-text-winmail-dat-with-two-files.eml")
    for _ in range(2000):
        data = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(6, len(data))] = rng.randrange(256)
        out = unpacked([_as_attachment(bytes(data))])
        assert out and all(isinstance(a.data, bytes) and a.filename for a in out)


def test_a_flood_of_tiny_attributes_is_read_no_further_than_the_bound() -> None:
    """Each attribute is looked at once, and no more than MAX_ATTRIBUTES of them."""
    tiny = struct.pack("<BII", 1, 0x00078008, 0) + b"\x00\x00"  # an empty message class
    file = _winmail("winmail-dat-tnef.eml")[6:]  # its attributes, a file among them
    read = SIGNATURE + b"\x00\x00" + tiny * (MAX_ATTRIBUTES - 20) + file
    assert [a.filename for a in unpacked([_as_attachment(read)])] == ["minutes.txt"]
    flood = SIGNATURE + b"\x00\x00" + tiny * (MAX_ATTRIBUTES * 20) + file
    assert unpacked([_as_attachment(flood)]) == [_as_attachment(flood)]  # past the bound: not read on


def _attribute(level: int, attr: int, data: bytes) -> bytes:
    return struct.pack("<BII", level, attr, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def _file(title: str, data: bytes, mime_tag: bytes) -> bytes:
    tag = mime_tag + b"\0" + b"\0" * (-(len(mime_tag) + 1) % 4)
    props = struct.pack("<I", 1) + struct.pack("<HHII", 0x001E, 0x370E, 1, len(mime_tag) + 1) + tag
    return (
        _attribute(2, 0x00069002, bytes(14))
        + _attribute(2, 0x00018010, title.encode() + b"\0")
        + _attribute(2, 0x0006800F, data)
        + _attribute(2, 0x00069005, props)
    )


def test_a_mime_tag_that_is_no_media_type_gives_way_to_the_names() -> None:
    winmail = (
        SIGNATURE
        + b"\x00\x00"
        + _file("report.pdf", b"%PDF-1.4", b"text/html\r\nX-Evil: 1")
        + _file("notes.txt", b"hi", b"Text/Plain")
    )
    assert [(a.filename, a.content_type) for a in unpacked([_as_attachment(winmail)])] == [
        ("report.pdf", "application/pdf"),
        ("notes.txt", "text/plain"),
    ]


def test_outlooks_answer_to_a_meeting_request_in_a_winmail_dat_is_an_answer_with_no_words() -> None:
    """Outlook sends "Accepted:" as a Rich Text message: its class (IPM.Schedule.Meeting.Resp.Pos) is
    in the winmail.dat alone, and the entry was an empty post with a winmail.dat on it."""

    def sent(message_class: bytes) -> bytes:
        winmail = SIGNATURE + b"\x00\x00" + _attribute(1, 0x00078008, message_class + b"\0")
        return (
            b"From: Max Muster <max@example.org>\nTo: team@example.com\nSubject: Zugesagt: Team sync\n"
            b'Message-ID: <resp@x>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n'
            b"--b\nContent-Type: text/plain\n\n\n--b\nContent-Type: application/ms-tnef; name=winmail.dat\n"
            b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(winmail) + b"--b--\n"
        )

    result = analysed(sent(b"IPM.Schedule.Meeting.Resp.Pos"))
    assert result.verdict.action == "ignore" and "invitation" in result.verdict.reason
    assert analysed(sent(b"IPM.Note")).verdict.action == "post"  # a person's Rich Text mail
    # the class as older Outlook and MS-OXTNEF's attMessageClass write it
    assert analysed(sent(b"IPM.Microsoft Schedule.MtgRespP")).verdict.action == "ignore"
