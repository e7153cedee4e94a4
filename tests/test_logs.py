"""LOG_FORMAT: a real `mailfeed serve` writes one JSON object per line, and lines about a message carry its fields."""

from __future__ import annotations

import json
import logging
import smtplib
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from gateway.logs import JsonFormatter, header_message_id
from gateway.store.db import open_store
from gateway.store.models import RawMessage
from tests.helpers import add_feed, make_mail, wait_for
from tests.serving import serve_env, serving


def sqlite_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    url = f"sqlite:///{tmp_path}/mailfeed.sqlite3"
    store = open_store(url)
    add_feed(store)
    store.dispose()
    return serve_env(url, tmp_path, **settings)


def settled(url: str, n: int) -> bool:
    """True once `n` raw messages are stored and none is pending."""
    store = open_store(url, upgrade=False)
    try:
        with store.read() as session:
            statuses = list(session.scalars(sa.select(RawMessage.status)))
    finally:
        store.dispose()
    return len(statuses) == n and "pending" not in statuses


def deliver_three(port: int) -> None:
    """A post, an auto-reply (ignored by the processor) and junk that fails to parse (quarantined)."""
    auto = make_mail(message_id="auto@x", subject="Out of office", body="Away until Monday.\n")
    auto = b"Auto-Submitted: auto-replied\r\n" + auto
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
        c.sendmail("ann@example.com", ["team@example.com"], make_mail(message_id="Plan.1@Example.com"))
        c.sendmail("ann@example.com", ["team@example.com"], auto)
        c.sendmail("ann@example.com", ["team@example.com"], b"this line is not a header\r\n\r\njust text\r\n")


def test_json_logs_are_one_object_per_line_with_the_message_fields(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path, log_format="json")
    with serving(env) as served:
        deliver_three(served.smtp_port)
        wait_for(lambda: settled(env["MAILFEED_DATABASE_URL"], 3), timeout=30)
    text = served.output()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line parses
    assert all({"ts", "level", "logger", "message"} <= set(line) for line in lines)
    assert all(line["ts"].endswith("+00:00") for line in lines)
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # the web server's lines too
    [accepted] = [x for x in lines if x.get("message_id") == "Plan.1@Example.com"]
    assert accepted["logger"] == "gateway.ingest.smtp" and accepted["peer"] == "127.0.0.1"
    assert accepted["feed"] == 1 and isinstance(accepted["raw_id"], int)
    assert "<Plan.1@Example.com> accepted from 127.0.0.1" in accepted["message"]
    [ignored] = [x for x in lines if x["logger"] == "gateway.pipeline" and x.get("message_id") == "auto@x"]
    assert ignored["source"] == "smtp" and ignored["feed"] == 1 and "auto-reply" in ignored["message"]
    [quarantined] = [x for x in lines if x["level"] == "WARNING" and "quarantined" in x["message"]]
    assert quarantined["raw_id"] == 3
    assert "here is the plan" not in text and "Away until Monday" not in text  # never a body


def test_text_logs_keep_the_message_id_in_the_line(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    with serving(env) as served:
        deliver_three(served.smtp_port)
        wait_for(lambda: settled(env["MAILFEED_DATABASE_URL"], 3), timeout=30)
    text = served.output()
    assert " INFO gateway.ingest.smtp: <Plan.1@Example.com> accepted from 127.0.0.1 as raw 1 of feed 1" in text
    assert " INFO gateway.pipeline: <auto@x> ignored: auto-reply" in text
    assert not any(line.startswith("{") for line in text.splitlines())


def test_a_bad_log_format_fails_at_start_naming_the_setting(tmp_path: Path) -> None:
    env = serve_env(f"sqlite:///{tmp_path}/x.sqlite3", tmp_path, log_format="xml")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "MAILFEED_LOG_FORMAT='xml': Value error, must be text or json" in result.stderr


def test_json_lines_stay_one_line_and_ascii_whatever_the_fields_hold() -> None:
    record = logging.LogRecord("gateway.x", logging.INFO, __file__, 1, "<%s> held", ("évil\r\n{",), None)
    record.message_id = "évil\r\n{"
    line = JsonFormatter().format(record)
    assert "\n" not in line and line.isascii()
    assert json.loads(line)["message_id"] == "évil\r\n{"


def test_the_logged_message_id_comes_from_the_header_block_only() -> None:
    assert header_message_id(b"Subject: x\r\nMessage-ID:\r\n <a.b@c>\r\n\r\nbody") == "a.b@c"
    assert header_message_id(b"Subject: x\n\nMessage-ID: <in-the-body@x>\n") is None
    assert header_message_id(b"message-id: <x\x1b[31m@y>\r\n\r\n") is None  # no terminal escapes into a log
