"""`mailfeed serve` in parts, for scale-out: SMTP here, web there, one database, as real subprocesses."""

from __future__ import annotations

import json
import smtplib
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.store.db import open_store
from tests.helpers import add_feed, make_mail, wait_for
from tests.serving import serve_env, serving


def listens(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_serve_with_every_part_off_refuses_to_start_saying_why(tmp_path: Path) -> None:
    env = serve_env(f"sqlite:///{tmp_path}/x.sqlite3", tmp_path, serve_smtp="false", serve_imap="0")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--no-web", "--no-digests"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "nothing to serve: SMTP, web, IMAP and digests are all off" in result.stderr


def test_serve_on_a_taken_smtp_port_says_so_and_exits_1(tmp_path: Path) -> None:
    """The first thing to go wrong on a new machine: another server has port 2525."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = serve_env(f"sqlite:///{tmp_path}/x.sqlite3", tmp_path, smtp_port=str(port))
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "serve", "--no-web", "--no-digests", "--no-imap"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1, result.stderr
    assert f"mailfeed: error: cannot listen for SMTP on 127.0.0.1:{port}:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_an_smtp_only_instance_and_a_web_only_instance_share_one_database(db_url: str, tmp_path: Path) -> None:
    store = open_store(db_url, upgrade=False)
    add_feed(store)
    store.dispose()
    smtp_env = serve_env(db_url, tmp_path / "a")
    # Settings turn SMTP and web off; the --web option overrides the setting.
    web_env = serve_env(db_url, tmp_path / "b", serve_smtp="false", serve_web="false")
    with (
        serving(smtp_env, "--no-web", wait=("smtp",), name="smtp-only") as smtp_only,
        serving(web_env, "--web", "--no-imap", "--no-digests", wait=("http",), name="web-only") as web_only,
    ):
        assert not listens(smtp_only.http_port) and not listens(web_only.smtp_port)
        with smtplib.SMTP("127.0.0.1", smtp_only.smtp_port, timeout=10) as c:
            c.sendmail("ann@example.com", ["team@example.com"], make_mail(message_id="scale@x", subject="Scaled out"))

        def threads() -> list[dict[str, object]]:
            url = f"http://127.0.0.1:{web_only.http_port}/api/feeds/team/threads"
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.load(r)["threads"]  # type: ignore[no-any-return]

        [thread] = wait_for(threads, timeout=30)
        assert thread["subject"] == "Scaled out"
        for path in ("/f/team", "/f/team/feed.atom", "/api/feeds/team/threads"):
            got, head = ask(web_only.http_port, "GET", path), ask(web_only.http_port, "HEAD", path)
            assert head.status == got.status == 200 and head.body == b"" and got.body, path
            for name in ("content-type", "content-length", "content-security-policy", "etag"):
                assert head.headers.get(name) == got.headers.get(name), (path, name)
        code, body = web_only.healthz()
        c = body["components"]  # type: ignore[index]
        assert code == 200 and c["smtp"]["status"] == "off" and c["imap"]["status"] == "off"
        assert c["digests"]["scheduler"] == "off" and c["processor"]["alive"] is True  # the processor always runs
        assert smtp_only.stop() == 0  # without the web, SIGTERM still stops it, cleanly
    assert "stopped" in smtp_only.output().splitlines()[-1]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def ask(port: int, method: str, path: str) -> Answer:
    """One request on a connection the server then closes: `body` is every byte it sent after the headers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return Answer(int(status_line.split()[1]), headers, body)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc), deepest last."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def test_a_processor_killed_with_9_neither_hangs_smtp_nor_stays_dead(tmp_path: Path) -> None:
    """kill -9 of every process below serve (processor, its pool, the forkserver): SMTP still answers
    250 at once, and the processor is started again and processes what waited."""
    import os
    import signal

    from gateway.store.db import open_store as opened

    db_url = f"sqlite:///{tmp_path / 'mf.sqlite3'}"
    store = opened(db_url)
    add_feed(store)
    env = serve_env(db_url, tmp_path, workers="2")
    with serving(env, "--no-web", wait=("smtp",)) as served:
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as c:
            c.sendmail("ann@example.com", ["team@example.com"], make_mail(message_id="before@x", subject="Before"))
        wait_for(lambda: _status(store, "before@x") == "posted", timeout=30)
        below = descendants(served.proc.pid)
        assert below, "serve runs its processor in processes of its own"
        for pid in below:
            os.kill(pid, signal.SIGKILL)
        with smtplib.SMTP("127.0.0.1", served.smtp_port, timeout=10) as c:  # timeout: a hang fails here
            c.sendmail("ann@example.com", ["team@example.com"], make_mail(message_id="after@x", subject="After"))
        wait_for(lambda: _status(store, "after@x") == "posted", timeout=60)
        assert "the processor died" in served.output()
        assert served.stop() == 0
    store.dispose()


def _status(store, message_id: str) -> str | None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from gateway.store.models import RawMessage

    with store.read() as session:
        return session.scalar(sa.select(RawMessage.status).where(RawMessage.message_id == message_id))
