"""Mailing lists that rewrite From: for DMARC, one fixture each, through the real analysis step.

Google Groups and Mailman send a post from a domain with DMARC reject or
quarantine on under the list's address ("'Ann Smith' via Team"); for a list the
admin trusts (TRUSTED_LISTS) the entry shows the author the list names. For any
other, From: stays as it came: anyone can write "via" and X-Original-From.
"""

from __future__ import annotations

import pytest

from gateway.list_author import named_author, rewritten
from gateway.message import Address
from tests.helpers import analysed, analysed_fixture, make_mail

GROUP = frozenset({"team@example.org"})


def test_google_groups_rewritten_from_shows_the_author_the_group_kept() -> None:
    content = analysed_fixture("google-groups-dmarc-rewritten-from.eml", GROUP).content
    assert content.author == Address("Ann Smith", "ann.smith@mail.example")
    assert content.text.startswith("Hi all,\n\nthe printer on the 2nd floor works again")


@pytest.mark.parametrize("lists", [frozenset(), frozenset({"other.example"}), frozenset({"devs@example.org"})])
def test_a_list_nobody_trusts_keeps_its_from(lists: frozenset[str]) -> None:
    content = analysed_fixture("google-groups-dmarc-rewritten-from.eml", lists).content
    assert content.author == Address("'Ann Smith' via Team", "team@example.org")


def test_mailman_author_in_cc_under_the_name_in_front_of_via() -> None:
    """Reply-To points at the list (reply goes to list), so Mailman put the author in Cc."""
    name = "mailman-dmarc-munged-from-author-in-cc.eml"
    assert analysed_fixture(name, frozenset({"lists.example.org"})).content.author == Address(
        "Piotr Nowak", "piotr@post.example"
    )
    assert analysed_fixture(name).content.author == Address("Piotr Nowak via Devs", "devs@lists.example.org")


def test_a_forward_sent_through_the_list_names_its_member_as_forwarder() -> None:
    raw = make_mail(
        message_id="fwd@mail.example",
        sender="\"'Ann Smith' via Team\" <team@example.org>",
        subject="Fwd: Fire drill",
        body="FYI\n\n---------- Forwarded message ---------\nFrom: Facilities <facilities@example.com>\n"
        "Date: Wed, Mar 4, 2026 at 8:00 AM\nSubject: Fire drill\nTo: all@example.com\n\n"
        "The fire drill is on Friday at 10:00.\n",
    ).replace(b"Subject:", b"X-Original-From: Ann Smith <ann.smith@mail.example>\nSubject:", 1)
    content = analysed(raw, GROUP).content
    assert content.author == Address("Facilities", "facilities@example.com")
    assert content.forward is not None and content.forward.by == Address("Ann Smith", "ann.smith@mail.example")


def test_who_the_headers_name() -> None:
    via = Address("'Ann Smith' via Team", "team@example.org")
    ann = Address("Ann Smith", "ann@mail.example")
    boss = Address("Boss", "boss@example.com")

    def named(author: Address = via, **found: list[Address]) -> Address | None:
        return named_author(
            author,
            original_from=found.get("original_from", []),
            reply_to=found.get("reply_to", []),
            cc=found.get("cc", []),
        )

    assert named(original_from=[ann], reply_to=[boss]) == ann
    assert named(reply_to=[Address("ANN  smith", "ann@mail.example")]) == Address("ANN  smith", "ann@mail.example")
    assert named(reply_to=[boss]) is None  # a poster's own Reply-To is not its author
    assert named(reply_to=[Address("", "team@example.org")], cc=[boss, ann]) == ann
    assert named(original_from=[Address("", "team@example.org")]) is None  # the list itself
    assert named(Address("Ann Smith", "ann@mail.example"), original_from=[boss]) is None  # not rewritten
    # Mailman writes a nameless author as "lee at mail.example via Devs"
    lee = Address("lee at mail.example via Devs", "devs@lists.example.org")
    assert named(lee, reply_to=[Address("", "lee@mail.example")]) == Address("", "lee@mail.example")
    assert named(
        Address("'lee@mail.example' via Team", "team@example.org"), original_from=[Address("", "lee@mail.example")]
    ) == Address("", "lee@mail.example")


@pytest.mark.parametrize(
    ("name", "author"),
    [
        ("'Ann Smith' via Team", "Ann Smith"),
        ('"Ann Smith" via Team', "Ann Smith"),
        ("Ann Smith VIA  the  Team", "Ann Smith"),
        ("Ann via Smith via Team", "Ann via Smith"),
        ("Ann Smith via ", None),
        ("Ann Viaduct", None),
        ("via Team", None),
        ("' ' via Team", None),
    ],
)
def test_a_rewritten_from_is_told_by_the_last_via(name: str, author: str | None) -> None:
    assert rewritten(Address(name, "team@example.org")) == author


def test_a_huge_name_is_read_in_linear_time() -> None:
    assert rewritten(Address(" " * 200_000 + "x", "a@b")) is None
    assert rewritten(Address("a " * 100_000 + "via Team", "a@b")) == ("a " * 100_000).strip()
