"""RFC 3676 format=flowed decoding: soft breaks joined, hard ones and quote depths kept."""

from __future__ import annotations

import email

import pytest

from gateway.flowed import flowed_parts, unflowed
from gateway.reply import split_reply


def test_soft_breaks_join_a_paragraph_and_hard_breaks_end_it() -> None:
    text = "One paragraph \r\nwrapped twice \r\nhere.\r\nA hard break.\r\n\r\nNext.\r\n"
    assert unflowed(text, delsp=False) == "One paragraph wrapped twice here.\nA hard break.\n\nNext.\n"


def test_delsp_removes_the_space_the_client_added_before_each_soft_break() -> None:
    """Apple Mail (delsp=yes) adds a space to break where the text has none, as in Japanese."""
    assert unflowed("日本語の文章を \r\n折り返した。\r\n", delsp=True) == "日本語の文章を折り返した。\n"
    assert unflowed("two words  \r\njoined\r\n", delsp=True) == "two words joined\n"


def test_quote_depth_is_kept_and_a_change_of_depth_ends_the_paragraph() -> None:
    text = ">> deep \r\n>> quote\r\n> shallow \r\n> quote \r\nnot quoted\r\n>\r\n"
    assert unflowed(text, delsp=False) == ">> deep quote\n> shallow quote \nnot quoted\n>\n"


def test_signature_separator_and_space_stuffing() -> None:
    text = "Text.\r\n-- \r\nAnn \r\nAuthor\r\n From a stuffed line.\r\n"
    assert unflowed(text, delsp=False) == "Text.\n-- \nAnn Author\nFrom a stuffed line.\n"


def test_a_flowed_line_above_the_signature_separator_ends_there() -> None:
    """A client that flows its last line ends it in a space right above "-- ": the separator was
    joined to it ("See you then.--"), and the signature below was shown as the author's words."""
    text = "See you then. \r\n-- \r\nAnn Author\r\n"
    assert unflowed(text, delsp=True) == "See you then.\n-- \nAnn Author\n"
    assert unflowed(text, delsp=False) == "See you then. \n-- \nAnn Author\n"
    parts = split_reply(unflowed(text, delsp=True))
    assert (parts.text, parts.signature) == ("See you then.", "--\nAnn Author")


@pytest.mark.parametrize(
    ("content_type", "found"),
    [
        ("text/plain; charset=utf-8", (False, False)),
        ("text/plain; charset=utf-8; format=flowed", (True, False)),
        ('text/plain; format="Flowed"; DelSp="Yes"', (True, True)),
        ("text/plain; delsp=yes", (False, False)),  # delsp means nothing without format=flowed
    ],
)
def test_flowed_parameters_are_read_from_the_text_part(content_type: str, found: tuple[bool, bool]) -> None:
    msg = email.message_from_string(f"Content-Type: {content_type}\n\nhi\n")
    assert flowed_parts(msg) == found


def test_parts_that_disagree_are_left_as_sent() -> None:
    msg = email.message_from_string(
        'Content-Type: multipart/mixed; boundary="b"\n\n--b\nContent-Type: text/plain; format=flowed\n\none\n'
        "--b\nContent-Type: text/plain\n\ntwo\n--b--\n"
    )
    assert flowed_parts(msg) is None
