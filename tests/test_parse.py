"""Step 3: mail-parser, without the header dicts nothing reads, reads every message as mail-parser does."""

from __future__ import annotations

import email
import random
from pathlib import Path

import mailparser
import pytest

from gateway.parse import _MailParserWithMessages, read_encoded_messages
from tests.conftest import corpus_dir

EML = Path(__file__).parent / "data" / "eml"


def _reading(parser: mailparser.MailParser) -> tuple[object, ...]:
    """Everything gateway.parse takes from mail-parser."""
    return (
        parser.text_plain,
        parser.text_html,
        parser.attachments,
        sorted(parser.defects_categories),
        parser.from_,
        parser.to,
        parser.message.items() if parser.message is not None else None,
    )


def _same(data: bytes) -> None:
    random.seed(5)  # mail-parser names a nameless attachment with random letters: the same ones both times
    try:
        want = _reading(mailparser.parse_from_bytes(data))
    except Exception as exc:  # mail-parser refuses some: so must the lean one, but for one crash it mends
        msg = email.message_from_bytes(data)
        if msg.is_multipart() and msg.epilogue is None:  # parts never closed: mail-parser's epilogue search
            msg.epilogue = ""
            random.seed(5)
            want = _reading(mailparser.MailParser(msg))
            random.seed(5)
            assert _reading(_MailParserWithMessages.from_bytes(data)) == want
            return
        with pytest.raises(type(exc)):
            _MailParserWithMessages.from_bytes(data)
        return
    msg = email.message_from_bytes(data)
    if read_encoded_messages(msg):  # attached messages in base64, which mail-parser shows as base64
        random.seed(5)
        want = _reading(mailparser.MailParser(msg))
    random.seed(5)
    assert _reading(_MailParserWithMessages.from_bytes(data)) == want


@pytest.mark.parametrize("name", sorted(p.name for p in EML.glob("*.eml")))
def test_fixture_is_read_as_mail_parser_reads_it(name: str) -> None:
    _same((EML / name).read_bytes())


def test_corpus_is_read_as_mail_parser_reads_it() -> None:
    files = [p for p in sorted(corpus_dir().rglob("*")) if p.is_file() and p.suffix not in (".json", ".md")]
    assert len(files) > 200
    for path in files:
        _same(path.read_bytes())
