"""The benchmarks' own parts: generated mail is well-formed and threaded, the bench starts.

Performance is never asserted here; `make bench` measures it.
"""

from __future__ import annotations

import email
import io
import mailbox
import subprocess
import sys
from email import policy
from pathlib import Path

from bench import mailgen

ROOT = Path(__file__).resolve().parent.parent


def test_generated_mail_parses_with_stdlib_email() -> None:
    mails = list(mailgen.threads(60, seed=3))
    for mail in mails:
        msg = email.message_from_bytes(mail.data, policy=policy.default)
        assert not msg.defects, (mail.message_id, msg.defects)
        assert msg["Message-ID"] == f"<{mail.message_id}>"
        assert msg["From"] and msg["Date"] and msg["Subject"]
        body = msg.get_body(("plain",))
        assert body is not None and body.get_content().strip()
    assert any(m.data.count(b"Content-Disposition: attachment") for m in mailgen.threads(200, seed=3))


def test_replies_reference_their_parents() -> None:
    mails = list(mailgen.threads(80, seed=5))
    by_id = {m.message_id: m for m in mails}
    replies = [m for m in mails if m.parent_id]
    assert len(replies) > len(mails) // 2
    for reply in replies:
        msg = email.message_from_bytes(reply.data, policy=policy.default)
        parent = by_id[reply.parent_id]
        assert msg["In-Reply-To"] == f"<{parent.message_id}>"
        assert reply.references == [*parent.references, parent.message_id][-20:]
        assert str(msg["References"]).split() == [f"<{r}>" for r in reply.references]
        assert str(msg["Subject"]).startswith("Re: ")
        assert "wrote:" in msg.get_body(("plain",)).get_content()


def test_generation_is_deterministic_and_sized() -> None:
    first = [m.data for m in mailgen.threads(30, seed=9)]
    assert first == [m.data for m in mailgen.threads(30, seed=9)]
    assert first != [m.data for m in mailgen.threads(30, seed=10)]
    fixed = mailgen.fixed_size(5, size=4096)
    assert {len(m) for m in fixed} == {4096} and len(set(fixed)) == 5


def test_mbox_round_trips_through_stdlib_mailbox(tmp_path: Path) -> None:
    mails = list(mailgen.threads(20, seed=4, profile="small"))
    path = tmp_path / "box.mbox"
    with path.open("wb") as fh:
        assert mailgen.write_mbox(fh, iter(mails))[0] == 20
    box = mailbox.mbox(str(path))
    assert [m["Message-ID"] for m in box] == [f"<{m.message_id}>" for m in mails]
    box.close()


def test_bench_help_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    for option in ("--quick", "--rss-messages", "--smtp-per-session", "--proc-messages"):
        assert option in out


def test_mbox_bytes_escapes_from_lines() -> None:
    mail = mailgen.Mail("x@y", None, [], "a@b", mailgen.BASE_DATE, b"Subject: s\r\n\r\nFrom here on\r\n")
    entry = mailgen.mbox_bytes(mail)
    assert b"\n>From here on\n" in entry and entry.startswith(b"From a@b ")
    assert io.BytesIO(entry).read().endswith(b"\n\n")
