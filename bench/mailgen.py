"""Realistic mail for the benchmarks, generated deterministically from a seed.

`threads()` yields conversations the way a team address sees them: a post,
then replies that quote their parent (text and, for HTML mailers, a
<blockquote>), carry In-Reply-To/References, a signature, a stack of
Received/DKIM/ARC headers, and now and then an attachment. Sizes vary from a
couple of KB to a few hundred, averaging about 20-40 KB ("realistic") or 4-8 KB
("small"). `fixed_size()` makes unique plain messages of an exact size for SMTP
acceptance runs. The same seed always gives the same bytes.

Messages are built as bytes by hand, not through `email.message`, because
the memory benchmark needs 100,000 of them in reasonable time.
"""

from __future__ import annotations

import base64
import quopri
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from typing import BinaryIO

PEOPLE = [
    ("Ann Author", "ann@example.com"),
    ("Bob Baker", "bob@example.com"),
    ("Chloé Dubois", "chloe@example.fr"),
    ("Dieter Müller", "dieter@example.de"),
    ("Eve Evans", "eve@example.org"),
    ("Farid Haddad", "farid@example.net"),
    ("Grace Hopper", "grace@example.com"),
    ("Hiro Tanaka", "hiro@example.jp"),
    ("Ines Costa", "ines@example.pt"),
    ("Jan Novák", "jan@example.cz"),
]
TOPICS = [
    "Quarterly plan",
    "Release 4.2 checklist",
    "Office move on Friday",
    "Budget review",
    "Customer escalation: ACME",
    "Hiring loop for backend role",
    "Incident report 2026-03-01",
    "Design doc: search indexing",
    "Team offsite agenda",
    "Vendor contract renewal",
    "On-call rotation",
    "Roadmap feedback",
    "Security training reminder",
    "Database migration",
]
_VOCABULARY = (
    "the we should plan release team customer deadline review budget data migration server "
    "please agree think next week meeting notes follow up action items owner status blocked "
    "risk update numbers forecast revenue latency deploy rollback ticket priority scope "
    "estimate draft final approval quarter goal metric users support backlog feature fix test "
    "staging production docs for with and to of in on it is that this by from at as be are was "
    "will can would could "
)
WORDS = _VOCABULARY.split()
ATTACHMENTS = [
    ("report.pdf", "application/pdf"),
    ("screenshot.png", "image/png"),
    ("budget.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("notes.txt", "text/plain"),
    ("photo.jpg", "image/jpeg"),
]
RELAYS = ["mx1.example.com", "mx2.example.net", "smtp-out.example.org", "edge.mail.example.de", "relay.example.jp"]
BASE_DATE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TEAM = "team@example.com"
QUOTE_CAP = 12_000


@dataclass(frozen=True)
class Profile:
    """How big and rich the messages are."""

    paragraphs: tuple[int, int]
    received: tuple[int, int]
    html_share: float
    attachment_share: float
    attachment_bytes: tuple[int, int]
    auth_headers: bool


REALISTIC = Profile(
    paragraphs=(2, 10),
    received=(3, 7),
    html_share=0.6,
    attachment_share=0.15,
    attachment_bytes=(8_000, 180_000),
    auth_headers=True,
)
SMALL = Profile(
    paragraphs=(1, 5),
    received=(2, 5),
    html_share=0.35,
    attachment_share=0.0,
    attachment_bytes=(0, 0),
    auth_headers=True,
)
PROFILES = {"realistic": REALISTIC, "small": SMALL}


@dataclass
class Mail:
    """One generated message and what the tests need to know about it."""

    message_id: str
    parent_id: str | None
    references: list[str]
    sender: str
    date: datetime
    data: bytes  # CRLF line endings


@dataclass
class _Node:
    message_id: str
    references: list[str]
    subject: str
    author: tuple[str, str]
    date: datetime
    text: str
    thread: int = 0
    plain: str = ""  # the whole text/plain body, as a reply quotes it


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 18))
    return words[0].capitalize() + " " + " ".join(words[1:]) + rng.choice([".", ".", ".", "?", "!"])


def _paragraph(rng: random.Random) -> str:
    text = " ".join(_sentence(rng) for _ in range(rng.randint(2, 6)))
    return _wrap(text, 72)


def _wrap(text: str, width: int) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)


def _encode_name(name: str) -> str:
    if name.isascii():
        return f'"{name}"'
    return "=?utf-8?b?" + base64.b64encode(name.encode()).decode() + "?="


def _address(person: tuple[str, str]) -> str:
    return f"{_encode_name(person[0])} <{person[1]}>"


def _headers(rng: random.Random, p: Profile, node: _Node, parent: _Node | None) -> list[str]:
    h = []
    hops = rng.randint(*p.received)
    when = node.date
    for i in range(hops):
        relay = rng.choice(RELAYS)
        h.append(
            f"Received: from {relay} ({relay} [192.0.2.{rng.randint(1, 254)}])\r\n"
            f"\tby mx{i}.example.com (Postfix) with ESMTPS id {rng.getrandbits(40):X}\r\n"
            f"\tfor <{TEAM}>; {format_datetime(when + timedelta(seconds=hops - i))}"
        )
    if p.auth_headers:
        sig = base64.b64encode(rng.randbytes(256)).decode()
        h.append(
            "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel1;\r\n"
            "\th=from:to:subject:date:message-id; bh=" + base64.b64encode(rng.randbytes(32)).decode() + ";\r\n"
            "\tb=" + "\r\n\t  ".join(sig[i : i + 70] for i in range(0, len(sig), 70))
        )
        h.append(
            "ARC-Authentication-Results: i=1; mx.example.com; dkim=pass header.d=example.com;\r\n"
            "\tspf=pass smtp.mailfrom=example.com; dmarc=pass (p=NONE) header.from=example.com"
        )
        h.append(f"X-Google-Smtp-Source: {base64.b64encode(rng.randbytes(48)).decode()}")
    h.append(f"From: {_address(node.author)}")
    h.append(f"To: Team <{TEAM}>")
    if rng.random() < 0.3:
        h.append(f"Cc: {_address(rng.choice(PEOPLE))}")
    subject = node.subject
    h.append(
        f"Subject: {subject}"
        if subject.isascii()
        else f"Subject: =?utf-8?b?{base64.b64encode(subject.encode()).decode()}?="
    )
    h.append(f"Date: {format_datetime(node.date)}")
    h.append(f"Message-ID: <{node.message_id}>")
    if parent is not None:
        h.append(f"In-Reply-To: <{parent.message_id}>")
        h.append("References: " + "\r\n ".join(f"<{m}>" for m in node.references))
    h.append("MIME-Version: 1.0")
    h.append(
        f"User-Agent: {rng.choice(['Mozilla Thunderbird 128.0', 'Microsoft Outlook 16.0', 'Apple Mail (2.3774)'])}"
    )
    return h


def _plain_body(node: _Node, parent: _Node | None, signature: str) -> str:
    body = node.text
    if parent is not None:
        # Replies quote the parent's whole body, history included, as most clients do (capped).
        history = parent.plain[:QUOTE_CAP].rstrip("\n")
        quoted = "\n".join("> " + line if not line.startswith(">") else ">" + line for line in history.split("\n"))
        body += f"\n\nOn {format_datetime(parent.date)}, {parent.author[0]} <{parent.author[1]}> wrote:\n{quoted}"
    return body + "\n\n-- \n" + signature + "\n"


def _html_body(node: _Node, parent: _Node | None, signature: str) -> str:
    def paras(text: str) -> str:
        return "".join(f"<p>{p.replace(chr(10), '<br>')}</p>\n" for p in text.split("\n\n"))

    html = (
        f'<html><head><meta charset="utf-8"><style>p {{ margin: 0 0 1em }}</style></head>\n'
        f'<body><div dir="ltr">\n{paras(node.text)}</div>\n'
    )
    if parent is not None:
        html += (
            f'<div class="gmail_quote"><div class="gmail_attr">On {format_datetime(parent.date)}, '
            f"{parent.author[0]} &lt;{parent.author[1]}&gt; wrote:</div>\n"
            f'<blockquote style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">\n'
            f"{paras(escape(parent.plain[:QUOTE_CAP]))}</blockquote></div>\n"
        )
    html += f'<div class="signature">-- <br>{signature.replace(chr(10), "<br>")}</div>\n</body></html>\n'
    return html


def _qp(text: str) -> str:
    return quopri.encodestring(text.replace("\n", "\r\n").encode()).decode().replace("\r\n", "\n")


def _text_part(ctype: str, text: str) -> str:
    if text.isascii():
        return f'Content-Type: {ctype}; charset="us-ascii"\nContent-Transfer-Encoding: 7bit\n\n{text}'
    return f'Content-Type: {ctype}; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable\n\n{_qp(text)}'


def _b64(data: bytes) -> str:
    enc = base64.b64encode(data).decode()
    return "\n".join(enc[i : i + 76] for i in range(0, len(enc), 76))


def _render(rng: random.Random, p: Profile, node: _Node, parent: _Node | None) -> bytes:
    signature = (
        f"{node.author[0]}\n{rng.choice(['Engineering', 'Sales', 'Finance', 'Support'])} | Example Corp\n+1 555 0100"
    )
    plain = _plain_body(node, parent, signature)
    node.plain = plain
    seq = rng.getrandbits(48)
    if rng.random() < p.html_share:
        b = f"alt-{seq:x}"
        body_ct = f'multipart/alternative; boundary="{b}"'
        body = (
            f"--{b}\n{_text_part('text/plain', plain)}\n--{b}\n"
            f"{_text_part('text/html', _html_body(node, parent, signature))}\n--{b}--\n"
        )
    else:
        body_ct, body = None, plain
    if p.attachment_share and rng.random() < p.attachment_share:
        name, ctype = rng.choice(ATTACHMENTS)
        data = rng.randbytes(rng.randint(*p.attachment_bytes))
        m = f"mix-{seq:x}"
        inner = f"Content-Type: {body_ct}\n\n{body}" if body_ct else _text_part("text/plain", plain)
        body_ct = f'multipart/mixed; boundary="{m}"'
        body = (
            f'--{m}\n{inner}\n--{m}\nContent-Type: {ctype}; name="{name}"\n'
            f'Content-Disposition: attachment; filename="{name}"\nContent-Transfer-Encoding: base64\n\n'
            f"{_b64(data)}\n--{m}--\n"
        )
    headers = _headers(rng, p, node, parent)
    if body_ct is None:
        part = _text_part("text/plain", plain)
        head, _, body = part.partition("\n\n")
        headers.extend(head.split("\n"))
    else:
        headers.append(f"Content-Type: {body_ct}")
    text = "\r\n".join(headers) + "\r\n\r\n" + body.replace("\n", "\r\n")
    return text.encode()


def threads(count: int, *, seed: int = 1, profile: str = "realistic") -> Iterator[Mail]:
    """`count` messages in conversations: about one in five starts a thread, the rest reply.

    Replies go to a recent message of a recent thread, so threads branch and
    grow deep; each reply's References is its parent's plus the parent.
    """
    rng = random.Random(seed)
    p = PROFILES[profile]
    open_threads: list[list[_Node]] = []
    when = BASE_DATE
    for i in range(count):
        when += timedelta(seconds=rng.randint(20, 900))
        author = rng.choice(PEOPLE)
        text = "\n\n".join(_paragraph(rng) for _ in range(rng.randint(*p.paragraphs)))
        if rng.random() < 0.1:
            text = f"Grüße aus {rng.choice(['München', 'Zürich', 'Kraków'])} — {text}"
        mid = f"{seed}.{i}.{rng.getrandbits(32):08x}@{author[1].split('@')[1]}"
        parent = None
        if open_threads and rng.random() < 0.8:
            thread = rng.choice(open_threads[-30:])
            parent = rng.choice(thread[-4:])
        if parent is None:
            topic = rng.choice(TOPICS)
            if rng.random() < 0.05:
                topic += " — Überblick"
            node = _Node(mid, [], f"{topic} #{i}", author, when, text, thread=len(open_threads))
            open_threads.append([node])
        else:
            refs = [*parent.references, parent.message_id][-20:]
            subject = "Re: " + parent.subject.removeprefix("Re: ")
            node = _Node(mid, refs, subject, author, when, text, thread=parent.thread)
            open_threads[parent.thread].append(node)
        data = _render(rng, p, node, parent)
        yield Mail(mid, parent.message_id if parent else None, node.references, author[1], when, data)


def fixed_size(count: int, *, size: int = 4096, seed: int = 1) -> list[bytes]:
    """`count` distinct plain-text messages of exactly `size` bytes (CRLF), for SMTP acceptance."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        author = rng.choice(PEOPLE)
        head = (
            f"From: {_address(author)}\r\nTo: Team <{TEAM}>\r\nSubject: Load test {i}\r\n"
            f"Date: {format_datetime(BASE_DATE + timedelta(seconds=i))}\r\n"
            f"Message-ID: <load.{seed}.{i}@{author[1].split('@')[1]}>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: text/plain; charset="us-ascii"\r\n\r\n'
        ).encode()
        body = b""
        while len(head) + len(body) < size:
            body += _sentence(rng).encode() + b"\r\n"
        data = head + body
        data = data[: size - 2] + b"\r\n" if len(data) >= size else data
        out.append(data)
    return out


def mbox_bytes(mail: Mail) -> bytes:
    """One mbox entry (mboxrd): the From_ line, LF line endings, '>From ' escaping, a blank line."""
    from_line = f"From {mail.sender} {mail.date.strftime('%a %b %d %H:%M:%S %Y')}\n".encode()
    body = mail.data.replace(b"\r\n", b"\n")
    if b"\nFrom " in body or body.startswith(b"From "):
        body = b"\n".join(b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in body.split(b"\n"))
    if not body.endswith(b"\n"):
        body += b"\n"
    return from_line + body + b"\n"


def write_mbox(fh: BinaryIO, mails: Iterator[Mail]) -> tuple[int, int]:
    """Write `mails` to an open mbox file; return (messages, bytes of message data)."""
    n = total = 0
    for mail in mails:
        fh.write(mbox_bytes(mail))
        n += 1
        total += len(mail.data)
    return n, total
