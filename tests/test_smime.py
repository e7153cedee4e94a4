"""The content of an opaque S/MIME signature, taken out of its BER structure: bounded, and never raising."""

from __future__ import annotations

import base64
import email
import random
from email import policy

from gateway.smime import MAX_DEPTH, signed_content
from tests.helpers import EML

WRITTEN = b"Hallo zusammen,\r\n\r\ndie Liste f=C3=BCr Q2 ist fertig; Freigabe bis Freitag bitte.\r\n\r\nJonas\r\n"


def _p7m(name: str) -> bytes:
    msg = email.message_from_bytes((EML / name).read_bytes(), policy=policy.default)
    return base64.b64decode(msg.get_payload())  # type: ignore[arg-type]


def test_both_length_forms_give_the_signed_entity() -> None:
    for name in ("outlook-smime-opaque-signed.eml", "smime-opaque-signed-definite-length.eml"):
        content = signed_content(_p7m(name))
        assert content is not None and content.startswith(b"Content-Type: text/plain")
        assert content.endswith(WRITTEN)


def test_encrypted_data_and_damage_give_nothing() -> None:
    assert signed_content(_p7m("outlook-smime-encrypted.eml")) is None  # enveloped-data: no content to take
    good = _p7m("outlook-smime-opaque-signed.eml")
    for broken in (good[:60], good[:-40], b"", b"\x30\x80", b"\x30\x84\xff\xff\xff\xff"):
        assert signed_content(broken) is None


def test_random_damage_never_raises() -> None:
    rng = random.Random(5)
    good = _p7m("outlook-smime-opaque-signed.eml")
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        out = signed_content(bytes(data))
        assert out is None or isinstance(out, bytes)


def test_nesting_past_the_bound_is_refused_not_followed() -> None:
    deep = b"\x30\x80" * (MAX_DEPTH * 50) + b"\x00\x00" * (MAX_DEPTH * 50)
    assert signed_content(deep) is None
