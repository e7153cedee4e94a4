"""A digest's header fields stay fields: a feed title with line breaks or control characters,
or a long non-ASCII one, cannot add fields or bare line feeds to the mail."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import formataddr

from gateway.digest.collect import Collected, Item
from gateway.digest.render import Envelope, Links, render

AT = datetime(2026, 3, 2, tzinfo=UTC)


def digest_of_feed_titled(title: str) -> bytes:
    """A digest as dispatch renders it: From and List-Id name the feed by its title."""
    return render(
        feed={"slug": "team", "title": title, "address": "team@example.com"},
        collected=Collected([Item(1, "Plan", True, "Ann", "the plan", 0, [], False, AT)], 0, 1),
        reply_address={1: "r1@example.com"},
        mute_url={1: "https://f/mute/m1"},
        links=Links("https://f", "https://f/f/team", "https://f/p", "https://f/u", "mailto:u@example.com"),
        env=Envelope(
            formataddr((title, "team@example.com")),
            "bounce@example.com",
            "reader@example.com",
            "team@example.com",
            "<d@example.com>",
            formataddr((title, "team.example.com")),
        ),
        period_label="2 March",
        total_replaced=1,
        now=AT,
    ).data


def test_a_feed_title_with_line_breaks_adds_no_header_fields() -> None:
    data = digest_of_feed_titled("Team\r\nBcc: victim@example.net\nX-Injected: yes\x00\x1b")
    message = message_from_bytes(data, policy=policy.default)
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert message["Subject"].startswith("[Team Bcc: victim@example.net X-Injected: yes")
    assert message["From"].addresses[0].addr_spec == "team@example.com"
    assert b"\x00" not in data and b"\x1b" not in data


def test_a_long_non_ascii_subject_is_folded_with_crlf_only() -> None:
    data = digest_of_feed_titled("Équipe " * 200)
    head = data.split(b"\r\n\r\n")[0]
    assert b"\n" not in head.replace(b"\r\n", b"")  # no bare line feed
    subject = head[head.index(b"\r\nSubject: ") + 2 :].split(b"\r\nDate: ")[0]
    assert max(len(line) for line in subject.split(b"\r\n")) <= 78
    message = message_from_bytes(data, policy=policy.default)
    assert message["Subject"].startswith("[Équipe Équipe")
