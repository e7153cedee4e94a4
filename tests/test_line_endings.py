"""Every fixture reads the same with LF and with CRLF line endings.

Mail comes by SMTP with CRLF lines (RFC 5321) and from files and archives with LF ones:
a difference in what is shown is a bug a reader meets only in live mail (a forward
attached over SMTP once showed its original again as the note).
"""

from __future__ import annotations

import pytest

from gateway.analysis import Analysis
from tests.helpers import EML, analysed


def _shown(result: Analysis) -> tuple[object, ...]:
    c = result.content
    return (
        c.author,
        c.subject,
        c.date,
        c.text,
        c.quoted_text,
        c.signature,
        (c.html or "").replace("\r", ""),
        [(a.filename, a.content_type) for a in c.attachments],
        c.forward,
    )


@pytest.mark.parametrize("name", sorted(p.name for p in EML.glob("*.eml")))
def test_a_fixture_reads_alike_with_lf_and_crlf_lines(name: str) -> None:
    lf = (EML / name).read_bytes().replace(b"\r\n", b"\n")
    results = [analysed(lf), analysed(lf.replace(b"\n", b"\r\n"))]
    if not all(hasattr(r, "content") for r in results):
        assert type(results[0]) is type(results[1])  # refused alike
        return
    assert _shown(results[0]) == _shown(results[1])
