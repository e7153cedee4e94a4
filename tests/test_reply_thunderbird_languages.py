"""Thunderbird's Arabic reply header and its localized forward lines, on the reply side (reply_headers)."""

from __future__ import annotations

import pytest

from gateway.message import Address
from gateway.reply import split_reply
from gateway.reply_thread import split_thread
from tests.helpers import analysed_fixture


def test_thunderbirds_arabic_header_above_an_ordinary_quote_is_history() -> None:
    """ "على 2/3/2026 10:15 ص، كتب Bo Berg:" ("on <date> <time> AM, Bo Berg wrote:") was read only above a
    quoted forward: above an ordinary quote it stayed as the answer's last line."""
    c = analysed_fixture("thunderbird-arabic-header-above-quote.eml").content
    assert c.forward is None
    assert c.author == Address("سارة منصور", "sara@example.org")
    assert c.text == "نعم، سأعيد تشغيل الاستيراد الليلة."
    assert c.quoted_text.startswith("على 2/3/2026 10:15 ص، كتب Bo Berg:\n> Hi Sara,")


FIELDS = "Тема: \tБюджет\nДата: \tMon, 2 Mar 2026 18:01:12 +0300\nОт: \tАнна Смирнова <anna@example.org>\n"
FIELDS += "Кому: \tИван Петров <ivan@example.org>\n"


@pytest.mark.parametrize(
    "marker",
    [
        "-------- Перенаправленное сообщение --------",  # ru
        "-------- Missatge reenviat --------",  # ca
        "--- Treść przekazanej wiadomości ---",  # pl, three dashes
        "-------- Forwarded Message --------",  # en: its block too opens with Subject:, which opens no reply's
    ],
)
def test_a_forward_under_thunderbirds_line_is_no_history(marker: str) -> None:
    """A forward under Thunderbird's line (in any of its languages) is the body, as under every known marker:
    its From: row was read as a reply's header block, so the line, Subject: and Date: stayed the text and the
    forwarded message went to the quote."""
    body = f"Посмотрите, пожалуйста.\n\n{marker}\n{FIELDS}\nБюджет утверждён.\n"
    parts = split_reply(body)
    assert parts.text == body.strip() and parts.quoted_text == ""


@pytest.mark.parametrize(
    "marker", ["-------- Перенаправленное сообщение --------", "-------- Forwarded Message --------"]
)
def test_a_quoted_forward_under_thunderbirds_line_is_no_message_of_the_chain(marker: str) -> None:
    """split_thread took the quoted forward's From:/To: rows for a further message's header."""
    quote = "\n".join(
        f"> {line}" for line in f"Посмотрите, пожалуйста.\n\n{marker}\n{FIELDS}\nБюджет утверждён.".split("\n")
    )
    parts = split_thread(f"Спасибо, посмотрю.\n\n02.03.2026 19:10, Иван Петров пишет:\n{quote}\n")
    assert [p.header for p in parts] == ["", "02.03.2026 19:10, Иван Петров пишет:"]
    assert parts[1].body.endswith("> Кому: \tИван Петров <ivan@example.org>\n>\n> Бюджет утверждён.")
