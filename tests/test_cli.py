"""The `mailfeed` command as users run it: subprocesses, real ports, kill -9."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import signal
import smtplib
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.store.db import open_store
from gateway.store.models import Entry
from tests.helpers import make_mail, wait_for
from tests.servers import free_port, wait_for_port


def mailfeed(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], env=env, capture_output=True, text=True, check=check, timeout=120
    )


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("MAILFEED_")}
    e.update(
        MAILFEED_DATA_DIR=str(tmp_path / "data"),
        MAILFEED_DATABASE_URL=db_url,
        MAILFEED_SMTP_PORT=str(free_port()),
        MAILFEED_HTTP_PORT=str(free_port()),
        MAILFEED_SQLITE_SYNCHRONOUS="NORMAL",
        MAILFEED_WORKERS="1",
    )
    return e  # analysis in-process: a pool costs seconds per command; the pool's own tests set WORKERS=2


def test_help_lists_every_command() -> None:
    out = subprocess.run([sys.executable, "-m", "gateway", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("serve", "feed", "import", "quarantine", "reprocess", "db"):
        assert command in out


def test_bad_setting_names_setting_and_value(env: dict[str, str]) -> None:
    env["MAILFEED_SMTP_PORT"] = "lots"
    result = mailfeed("feed", "list", env=env, check=False)
    assert result.returncode == 1
    assert "MAILFEED_SMTP_PORT='lots'" in result.stderr


def test_feed_add_list_and_import_errors(env: dict[str, str], tmp_path: Path) -> None:
    assert "created" in mailfeed("feed", "add", "team", "Team@Example.com", "--title", "The team", env=env).stdout
    assert mailfeed("feed", "list", env=env).stdout.split("\t")[:3] == ["team", "team@example.com", "The team"]
    again = mailfeed("feed", "add", "team", "other@example.com", env=env, check=False)
    assert again.returncode == 1 and "exists already" in again.stderr
    missing = mailfeed("import", str(tmp_path / "nope.mbox"), env=env, check=False)
    assert missing.returncode == 1 and "nope.mbox: no such file or directory" in missing.stderr
    junk = tmp_path / "junk.txt"
    junk.write_text("not mail")
    bad = mailfeed("import", str(junk), "--feed", "team", env=env, check=False)
    assert bad.returncode == 1 and "junk.txt: not an mbox file" in bad.stderr


def test_import_mbox_summary_and_rerun(env: dict[str, str], tmp_path: Path) -> None:
    mailfeed("feed", "add", "team", "team@example.com", env=env)
    box = tmp_path / "archive.mbox"
    with box.open("wb") as fh:
        for i in range(30):
            fh.write(b"From ann@example.com Mon Mar  2 09:00:00 2026\n")
            fh.write(
                make_mail(
                    message_id=f"m{i}@x", subject=f"Topic {i // 3}", in_reply_to=f"<m{i - 1}@x>" if i % 3 else None
                ).replace(b"\r\n", b"\n")
                + b"\n"
            )
    first = mailfeed("import", str(box), env={**env, "MAILFEED_WORKERS": "2"})  # through the worker pool
    assert "imported 30, duplicates 0, quarantined 0" in first.stdout and "messages/s" in first.stdout
    second = mailfeed("import", str(box), "--feed", "team", env=env)
    assert "imported 0, duplicates 30" in second.stdout
    (tmp_path / "Maildir" / "cur").mkdir(parents=True)
    (tmp_path / "Maildir" / ".Sent" / "cur").mkdir(parents=True)
    left = mailfeed("import", str(tmp_path / "Maildir"), "--feed", "team", env=env)
    assert f"not imported: {tmp_path / 'Maildir'}: its Maildir++ folders .Sent (import a folder" in left.stderr
    assert "team@example.com\tteam\t10 threads" in mailfeed("feed", "list", env=env).stdout


def test_import_of_several_archives_reads_past_a_cut_one_and_names_it(env: dict[str, str], tmp_path: Path) -> None:
    """Mailman's archives are a file a month, gzip'ed: a cut one stops only its own reading."""
    mailfeed("feed", "add", "team", "team@example.com", env=env)

    def month(name: str, n: int) -> bytes:
        return b"".join(
            b"From ann@example.com Mon Mar  2 09:00:00 2026\n"
            + make_mail(message_id=f"{name}{i}@x", body=f"{i} {os.urandom(3000).hex()}\n").replace(b"\r\n", b"\n")
            + b"\n"
            for i in range(n)
        )

    march = month("mar", 20)
    (tmp_path / "2026-February.txt").write_bytes(month("feb", 5))
    (tmp_path / "2026-March.txt.gz").write_bytes(gzip.compress(march)[: len(march) // 4])  # hex halves: cuts midway
    (tmp_path / "2026-April.txt.bz2").write_bytes(bz2.compress(month("apr", 7)))
    months = ("February.txt", "March.txt.gz", "April.txt.bz2")
    result = mailfeed("import", *(str(tmp_path / f"2026-{m}") for m in months), env=env, check=False)
    assert result.returncode == 1
    cut_in = int(result.stderr.split("cut short in message ")[1].split()[0])
    assert 1 < cut_in < 20
    read = 5 + cut_in - 1 + 7
    assert f"imported {read}, duplicates 0" in result.stdout and f"of {read} messages" in result.stdout
    assert (
        f"mailfeed: error: {tmp_path}/2026-March.txt.gz: the gzip data is damaged or cut short in message {cut_in}"
        in result.stderr
    )
    assert f"the {read} messages read are counted above" in result.stderr


@pytest.fixture
def serve(env: dict[str, str], tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        with (tmp_path / f"serve-{len(procs)}.log").open("wb") as log:
            p = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve"],
                env={**env, "MAILFEED_WORKERS": "2"},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        procs.append(p)
        wait_for_port(int(env["MAILFEED_HTTP_PORT"]), timeout=60)
        wait_for_port(int(env["MAILFEED_SMTP_PORT"]), timeout=60)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=30)


def api(env: dict[str, str], path: str) -> object:
    with urllib.request.urlopen(f"http://127.0.0.1:{env['MAILFEED_HTTP_PORT']}{path}", timeout=10) as r:
        return json.load(r)


@pytest.mark.slow
def test_serve_then_kill_9_loses_nothing_acknowledged(env: dict[str, str], serve) -> None:  # type: ignore[no-untyped-def]
    mailfeed("feed", "add", "team", "team@example.com", env=env)
    server = serve()
    health = api(env, "/healthz")
    assert isinstance(health, dict) and health["status"] == "ok"
    acked: list[str] = []
    stop = threading.Event()

    def stream() -> None:
        i = 0
        try:
            with smtplib.SMTP("127.0.0.1", int(env["MAILFEED_SMTP_PORT"]), timeout=10) as client:
                while not stop.is_set():
                    mid = f"k{i}@example.com"
                    client.sendmail(
                        "ann@example.com",
                        ["team@example.com"],
                        make_mail(message_id=mid, subject=f"Load {i}", body="x\n" * 200),
                    )
                    acked.append(mid)
                    i += 1
        except (smtplib.SMTPException, OSError):
            pass  # the server died under us: what was acknowledged is what counts

    client = threading.Thread(target=stream)
    client.start()
    wait_for(lambda: len(acked) >= 50, timeout=60)
    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    stop.set()
    client.join(timeout=30)
    assert len(acked) >= 50
    serve()
    store = open_store(env["MAILFEED_DATABASE_URL"], upgrade=False)
    try:

        def all_there() -> bool:
            with store.read() as session:
                have = set(session.scalars(sa.select(Entry.message_id)))
            return set(acked) <= have

        wait_for(all_there, timeout=60)
    finally:
        store.dispose()
    newest = api(env, "/api/feeds/team/threads?limit=1")
    assert isinstance(newest, dict) and newest["next_cursor"]


def test_serve_refuses_public_http_without_sign_in(env: dict[str, str]) -> None:
    env["MAILFEED_HTTP_HOST"] = "0.0.0.0"
    result = mailfeed("serve", env=env, check=False)
    assert result.returncode == 1
    assert "MAILFEED_HTTP_HOST='0.0.0.0' is not a loopback address and MAILFEED_AUTH=open" in result.stderr


def test_quarantine_list_show_and_reprocess(env: dict[str, str], tmp_path: Path) -> None:
    mailfeed("feed", "add", "team", "team@example.com", env=env)
    box = tmp_path / "mixed.mbox"
    box.write_bytes(
        b"From a Mon Mar  2 09:00:00 2026\n" + make_mail(message_id="ok@x").replace(b"\r\n", b"\n") + b"\n"
        b"From b Mon Mar  2 09:00:00 2026\nthis line is not a header\n\njust text\n"
    )
    assert "imported 1, duplicates 0, quarantined 1" in mailfeed("import", str(box), env=env).stdout
    listed = mailfeed("quarantine", "list", env=env).stdout
    assert "\tquarantined\t" in listed and "parse: no header block" in listed
    [raw_id] = [line.split("\t")[0] for line in listed.splitlines()]
    shown = subprocess.run(
        [sys.executable, "-m", "gateway", "quarantine", "show", raw_id], env=env, capture_output=True, timeout=120
    )
    assert shown.returncode == 0 and shown.stdout == b"this line is not a header\n\njust text\n"  # as it came
    assert shown.stderr.decode().strip() == f"raw {raw_id}: quarantined: parse: no header block"
    missing = mailfeed("quarantine", "show", "999", env=env, check=False)
    assert missing.returncode == 1 and "no stored message 999" in missing.stderr
    assert mailfeed("reprocess", "--quarantined", env=env).stdout.strip() == "reprocessed 1: quarantined 1"
    rebuilt = mailfeed("reprocess", "--all", env=env).stdout.strip()
    assert rebuilt == "reprocessed 2: posted 1, quarantined 1"
    both = mailfeed("reprocess", "--all", "--quarantined", env=env, check=False)
    assert both.returncode == 1 and "exactly one of" in both.stderr


def test_schema_upgrade_is_skipped_only_at_the_heads(tmp_path: Path) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    from gateway.store.db import alembic_config, migration_heads

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    old = open_store(url, upgrade=False)
    cfg = alembic_config(old)
    assert migration_heads() == set(ScriptDirectory.from_config(cfg).get_heads())  # the cheap reading is right
    command.upgrade(cfg, "0001")  # a database from before the later migrations
    with old.write() as session, session.begin():  # mail it already took: one processed, one waiting
        session.execute(
            sa.text(
                "INSERT INTO feed (id, slug, address, title, created_at)"
                " VALUES (1, 'team', 'team@example.com', '', '2026-01-01')"
            )
        )
        session.execute(
            sa.text(
                "INSERT INTO raw_message (id, feed_id, sha256, data, size, source, envelope_from,"
                " envelope_to, received_at, status, reason) VALUES"
                " (7, 1, 'a', x'00', 1, 'smtp', '', '', '2026-01-01', 'posted', ''),"
                " (9, 1, 'b', x'00', 1, 'smtp', '', '', '2026-01-01', 'pending', '')"
            )
        )
        session.execute(  # raw 7's post
            sa.text(
                "INSERT INTO entry (id, feed_id, thread_id, raw_id, message_id, chain, author_name,"
                " author_address, date, tz_offset, subject, text, quoted_text, signature, snippet)"
                " VALUES (7, 1, 7, 7, 'a@x', '', '', '', '2026-01-01', 0, '', '', '', '', '')"
            )
        )
    old.dispose()
    store = open_store(url)  # what `serve` and every command do at start
    try:
        with store.read() as session:
            versions = set(session.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
            columns = {c["name"] for c in sa.inspect(session.connection()).get_columns("raw_message")}
            order = session.execute(sa.text("SELECT id, seq, posted_seq FROM raw_message ORDER BY id")).all()
        assert versions == migration_heads()
        assert {"client_ip", "helo"} <= columns  # 0007 ran
        # 0008: processed mail keeps its raw-id turn; 0010: a post's number is its id, where digest cursors stand
        assert [tuple(r) for r in order] == [(7, 7, 7), (9, None, None)]
    finally:
        store.dispose()


def test_import_says_what_waits_for_dns_and_reprocess_takes_it(env: dict[str, str], tmp_path: Path) -> None:
    from tests.servers import DnsServer

    dns = DnsServer({"_dmarc.lax.example": "v=DMARC1; p=none"})
    try:
        env.update(MAILFEED_VERIFY_DKIM="true", MAILFEED_DNS_RESOLVER=f"dns:127.0.0.1:{dns.port}")
        mailfeed("feed", "add", "team", "team@example.com", env=env)
        box = tmp_path / "one.mbox"
        mail = make_mail(message_id="dns@x", sender="Ann <ann@lax.example>")
        box.write_bytes(b"From a Mon Mar  2 09:00:00 2026\n" + mail.replace(b"\r\n", b"\n") + b"\n")
        dns.failing.set()
        summary = mailfeed("import", str(box), env=env).stdout
        assert "imported 0, duplicates 0, quarantined 0, deferred 1 (DNS could not answer; `serve` tries" in summary
        listed = mailfeed("quarantine", "list", env=env).stdout
        assert "\tdeferred\t" in listed and "authenticate: DNS could not answer" in listed
        dns.failing.clear()
        assert mailfeed("reprocess", "--quarantined", env=env).stdout.strip() == "reprocessed 1: posted 1"
    finally:
        dns.close()


def test_import_of_a_maildir_with_a_folder_it_cannot_read_names_it_and_imports_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A Maildir owned by the mail server's user, its cur/ unreadable: the import walked past it in
    silence, said "imported 4 … of 4 messages" and exited 0; its other messages were never mentioned."""
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1700000000.M1P1.host").write_bytes(make_mail(message_id="new@x"))
    (maildir / "cur" / "1700000001.M1P1.host:2,S").write_bytes(make_mail(message_id="cur@x"))
    (maildir / "cur").chmod(0)
    try:
        mailfeed("feed", "add", "team", "team@example.com", env=env)
        # root reads any folder: drop that power for the import, as an ordinary admin account has none
        unprivileged = [
            "setpriv",
            "--bounding-set=-dac_override,-dac_read_search",
            "--inh-caps=-dac_override,-dac_read_search",
        ]
        command = [*unprivileged, sys.executable] if os.geteuid() == 0 else [sys.executable]
        done = subprocess.run(
            [*command, "-m", "gateway", "import", str(maildir), "--feed", "team"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        (maildir / "cur").chmod(0o755)
    assert done.returncode == 1
    assert f"{maildir / 'cur'}: cannot be read (Permission denied)" in done.stderr
