"""What the small commands say: addresses checked before they are kept, and sentences that read right."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli_digest import _replaced
from tests.helpers import in_process_cli


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    mailfeed = in_process_cli(tmp_path)

    def invoke(*args: str, code: int = 0) -> str:
        result = mailfeed(*args, code=code)
        return " ".join((result.stdout if code == 0 else result.stderr).split())

    return invoke


def test_token_and_private_feed_take_only_addresses_and_domains(run) -> None:  # type: ignore[no-untyped-def]
    run("feed", "add", "ops", "ops@example.com")
    assert "'bad' is not an email address" in run("token", "add", "bad", code=1)
    assert run("token", "add", "Ann@Example.com").startswith("token 1 for ann@example.com: ?key=")
    refused = run("feed", "private", "ops", "ann@example.com", "notanaddr", code=1)
    assert "'notanaddr' is neither an address (ann@example.com) nor a domain (example.com)" in refused
    assert run("feed", "private", "ops", "ann@example.com", "example.org") == (
        "feed ops is private to: ann@example.com, example.org"
    )


def test_subscribe_says_off_and_the_options_it_took(run) -> None:  # type: ignore[no-untyped-def]
    run("feed", "add", "team", "team@example.com")
    assert (
        run("subscribe", "zoe@example.net", "--feed", "team", "--every", "off")
        == "zoe@example.net gets no team digest (off)"
    )
    assert run("subscribe", "zoe@example.net", "--feed", "team", "--only-mine", "--send-empty") == (
        "zoe@example.net gets the team digest daily at 08:00 UTC (only threads they wrote in; also when nothing is new)"
    )
    assert run("subscribe", "zoe@example.net", "--feed", "team", "--at", " 7:30") == (
        "zoe@example.net gets the team digest daily at 07:30 UTC"
    )
    for unclear in ("8:5", "8", "٠٨:٣٠", "24:00", "08:60"):
        assert f"--at {unclear!r}: use HH:MM, e.g. 08:30" in run("subscribe", "z@example.net", "--at", unclear, code=1)


def test_emails_and_digests_are_counted_in_words_that_agree() -> None:
    assert _replaced(1, 1) == "1 email replaced by 1 digest"
    assert _replaced(3, 1) == "3 emails replaced by 1 digest"
    assert _replaced(0, 2) == "0 emails replaced by 2 digests"


def test_feed_policy_says_who_may_post_as_it_is_enforced(run) -> None:  # type: ignore[no-untyped-def]
    """With ALLOWED_SENDERS empty (anyone), --members-only lets the members alone post: saying
    "ALLOWED_SENDERS and members" read as anyone."""
    run("feed", "add", "ops", "ops@example.com")
    assert run("feed", "policy", "ops") == "feed ops: anyone may post; others: UNKNOWN_SENDERS"
    assert run("feed", "policy", "ops", "--members-only") == "feed ops: members may post; others: UNKNOWN_SENDERS"
    assert run("feed", "policy", "ops", "--senders", "example.org", "--members-only", "--unknown", "hold") == (
        "feed ops: example.org and members may post; others: hold"
    )
    assert "Each run sets the whole policy" in run("feed", "policy", "--help")


def test_quarantine_list_ignored_shows_the_auto_replies_kept_aside(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An auto-reply is kept as "ignored" with the reason; the admin can find it without its raw id."""
    run("feed", "add", "team", "team@example.com")
    away = tmp_path / "away.eml"
    away.write_bytes(
        b"From: Bo <bo@example.com>\nTo: team@example.com\nSubject: Away\nMessage-ID: <away@x>\n"
        b"Auto-Submitted: auto-replied\n\nBack on Monday.\n"
    )
    run("import", str(away), "--feed", "team")
    assert run("quarantine", "list", code=0) == ""  # kept back: nothing
    listed = run("quarantine", "list", "--ignored")
    assert "ignored" in listed and "<away@x>" in listed and "auto-reply (Auto-Submitted: auto-replied)" in listed


def test_db_upgrade_says_whether_it_upgraded(run) -> None:  # type: ignore[no-untyped-def]
    """On a new database it applies every migration: "is up to date" said nothing had been done."""
    assert run("db", "upgrade").endswith("is upgraded to the newest schema")
    assert run("db", "upgrade").endswith("was up to date")


def test_a_data_dir_the_database_cannot_be_made_in_is_named(tmp_path: Path) -> None:
    """The database is SQLite inside MAILFEED_DATA_DIR unless MAILFEED_DATABASE_URL says otherwise: the
    error names the setting the admin wrote, not only the URL mailfeed made of it."""
    blocked = tmp_path / "file"
    blocked.write_text("a file, where a directory should be\\n")
    run = in_process_cli(tmp_path, MAILFEED_DATA_DIR=str(blocked / "data"))
    said = " ".join(run("feed", "list", code=1).stderr.split())
    assert f"cannot open the database (MAILFEED_DATA_DIR='{blocked / 'data'}', sqlite:///" in said
