"""`mailfeed import` and `mailfeed reprocess` beside a running `mailfeed serve`: the counts they print are
what the database says of the rows they stored or requeued, whichever processor placed them."""

from __future__ import annotations

import re
import shutil
import smtplib
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import sqlalchemy as sa

from gateway.store.db import Store, open_store
from tests.helpers import add_feed, make_mail, wait_for
from tests.serving import serve_env, serving

ROUNDS = 4
NEW = 150


def mailfeed(*args: str, env: dict[str, str]) -> str:
    return finish(start(*args, env=env))


def start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "Traceback" not in err, err
    return out


def statuses(store: Store, where: str = "") -> Counter[str]:
    """Raw rows by status, those matching the SQL condition `where` if given."""
    sql = f"SELECT status, count(*) FROM raw_message {'WHERE ' + where if where else ''} GROUP BY status"
    with store.read() as session:
        return Counter({status: n for status, n in session.execute(sa.text(sql))})


def requeued_or_done(store: Store, before: int, proc: subprocess.Popen[str]) -> bool:
    return bool(statuses(store, f"id <= {before}")["pending"]) or proc.poll() is not None


def last_id(store: Store) -> int:
    with store.read() as session:
        return int(session.execute(sa.text("SELECT coalesce(max(id), 0) FROM raw_message")).scalar_one())


@contextmanager
def nudging(port: int) -> Iterator[None]:
    """While the block runs, a message to serve by SMTP every 0.1 s: each wakes serve's processor, which
    then takes every pending row there is, the command's too (left alone it looks once a second)."""
    stop = threading.Event()

    def send() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            n = 0
            while not stop.is_set():
                n += 1
                mail = make_mail(message_id=f"nudge-{threading.get_ident()}-{n}@x", subject=f"Nudge {n}")
                smtp.sendmail("ann@example.com", ["team@example.com"], mail)
                stop.wait(0.1)

    thread = threading.Thread(target=send)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def test_import_and_reprocess_print_what_the_database_holds_while_serve_processes_too(
    tmp_path: Path, sqlite_template: Path
) -> None:
    db = tmp_path / "mailfeed.sqlite3"
    shutil.copy(sqlite_template, db)
    url = f"sqlite:///{db}"
    store = open_store(url, upgrade=False)
    add_feed(store)
    env = serve_env(url, tmp_path, rate_per_sender="100000", rate_per_client="100000")  # the nudges
    cli = {**env, "MAILFEED_WORKERS": "2"}  # a pool, slow to start: serve's processor takes rows meanwhile
    imported: Counter[str] = Counter()  # what the imports' rows should be, round by round
    earlier: list[bytes] = []
    singles: list[str] = []  # what importing one message printed
    try:
        with serving(env, "--no-web", "--no-imap", "--no-digests", wait=("smtp",)) as served:
            for r in range(ROUNDS):
                new = [make_mail(message_id=f"r{r}-{i}@x", subject=f"Round {r} #{i}", minutes=i) for i in range(NEW)]
                auto = [
                    make_mail(message_id=f"r{r}-auto{i}@x", subject=f"Out of office {i}").replace(
                        b"Subject:", b"Auto-Submitted: auto-replied\nSubject:", 1
                    )
                    for i in range(3)
                ]
                same_id = [make_mail(message_id=f"r{r}-{i}@x", subject=f"Round {r} #{i}, sent again") for i in range(2)]
                again = earlier[:4]  # bytes stored before: no new raw row, still duplicates
                messages = new + auto + same_id + again
                with nudging(served.smtp_port):
                    out = mailfeed("import", str(mbox(tmp_path / f"r{r}.mbox", messages)), "--feed", "team", env=cli)
                imported.update(posted=NEW, ignored=len(auto), duplicate=len(same_id))
                assert (
                    f"imported {NEW}, duplicates {len(same_id) + len(again)}, quarantined 0, ignored {len(auto)}, "
                    f"held 0, refused 0 of {len(messages)} messages in "
                ) in out, out
                assert statuses(store, "source = 'import'") == imported
                earlier = new

                one = tmp_path / f"r{r}.eml"
                one.write_bytes(make_mail(message_id=f"r{r}-single@x", subject=f"Round {r} alone"))
                with nudging(served.smtp_port):
                    out = mailfeed("import", str(one), "--feed", "team", env=cli)
                imported.update(posted=1)
                assert "imported 1, duplicates 0, quarantined 0, ignored 0, held 0, refused 0 of 1 message" in out, out
                assert statuses(store, "source = 'import'") == imported
                singles.append(out)

                wait_for(lambda: not statuses(store)["pending"])  # the nudges too
                before = last_id(store)
                reprocess = start("reprocess", "--all", env=cli)
                # once it has marked the rows pending (nudges before that would be requeued too), serve is woken
                wait_for(partial(requeued_or_done, store, before, reprocess), 60)
                with nudging(served.smtp_port):
                    out = finish(reprocess)
                wait_for(lambda: not statuses(store)["pending"])
                requeued = statuses(store, f"id <= {before}")  # rows after it came during the rebuild
                assert set(requeued) >= {"posted", "ignored", "duplicate"}
                said = ", ".join(f"{k} {v}" for k, v in sorted(requeued.items()))
                assert out.strip() == f"reprocessed {requeued.total()}: {said}"
                assert statuses(store, "source = 'import'") == imported
    finally:
        store.dispose()
    for out in singles:  # one message, not "1 messages"; its rate too, where it rounds to 1
        assert " of 1 message in " in out and re.search(r"\((1 message|\d+ messages)/s\)", out), out
        assert "(1 messages/s)" not in out, out


def test_imap_sync_prints_what_the_database_holds_while_serve_processes_too(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """The same for `mailfeed imap sync`: its processor is not the only one beside a running serve."""
    from tests.dovecot import Dovecot

    dovecot = Dovecot()
    dovecot.add_user("team", "team-pass")
    dovecot.start()
    db = tmp_path / "mailfeed.sqlite3"
    shutil.copy(sqlite_template, db)
    url = f"sqlite:///{db}"
    store = open_store(url, upgrade=False)
    add_feed(store)
    env = serve_env(url, tmp_path, rate_per_sender="100000", rate_per_client="100000")
    cli = {**env, "MAILFEED_WORKERS": "2", "TEAM_PW": "team-pass"}
    try:
        mailfeed("imap", "add", "team", dovecot.url("team"), "--password-env", "TEAM_PW", env=cli)
        with serving(env, "--no-web", "--no-imap", "--no-digests", wait=("smtp",)) as served:
            for r in range(ROUNDS):
                dovecot.append(
                    "team", [make_mail(message_id=f"i{r}-{i}@x", subject=f"IMAP {r} #{i}") for i in range(60)]
                )
                with nudging(served.smtp_port):
                    out = mailfeed("imap", "sync", env=cli)
                assert statuses(store, "source = 'imap'") == Counter(posted=60 * (r + 1))
                assert "processed: posted 60 in " in out, out
    finally:
        store.dispose()
        dovecot.close()


def mbox(path: Path, messages: list[bytes]) -> Path:
    path.write_bytes(b"".join(b"From ann@example.com Mon Mar  2 10:00:00 2026\n" + m + b"\n" for m in messages))
    return path
