"""Split a body into the chain of messages it quotes, newest first.

`split_reply` only separates the new text from the history; this walks the
history too, one reply header at a time (at any quote depth), so a digest or an
importer can show "who said what" in a long top-posted chain. Quote markers are
kept in each part, as the client wrote them.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway import reply_patterns as P
from gateway.reply_headers import find_header
from gateway.reply_signature import signature_start

MAX_PARTS = 200  # a chain longer than this is kept whole in its last part


@dataclass(frozen=True)
class ThreadPart:
    """One message of the chain: its header block, body and signature."""

    header: str
    body: str
    signature: str

    @property
    def content(self) -> str:
        return "\n".join(x for x in (self.header, self.body, self.signature) if x)


def split_thread(text: str) -> list[ThreadPart]:
    """Parts of `text`, newest first; the first part has no header."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    spans: list[tuple[int, int]] = []
    start = 0
    while len(spans) < MAX_PARTS:
        found = find_header(lines, start, quoted=True)
        if found is None:
            break
        spans.append(found)
        start = found[1] + 1
    parts: list[ThreadPart] = []
    body_start, header = 0, (0, -1)
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if spans and spans[0][0] == first:  # a header opening the body is its own
        header, body_start = spans[0], spans[0][1] + 1
        spans = spans[1:]
    for begin, end in [*spans, (len(lines), len(lines))]:
        parts.append(_part(lines, header, body_start, begin))
        header, body_start = (begin, end), end + 1
    return [p for i, p in enumerate(parts) if i == 0 or p.header]


def _part(lines: list[str], header: tuple[int, int], start: int, stop: int) -> ThreadPart:
    body = lines[start:stop]
    plain = [P.QUOTE_PREFIX.sub("", ln, count=1) for ln in body]
    while plain and not plain[-1].strip():  # trailing ">" lines belong to nobody
        body, plain = body[:-1], plain[:-1]
    sig_at = signature_start(plain)
    sig: list[str] = []
    if sig_at is not None:
        body, sig = body[:sig_at], body[sig_at:]
    return ThreadPart(header=_join(lines[header[0] : header[1] + 1]), body=_join(body), signature=_join(sig))


def _join(lines: list[str]) -> str:
    return "\n".join(ln.rstrip() for ln in lines).strip("\n")
