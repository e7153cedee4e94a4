"""Log set-up for every mailfeed process: today's text lines, or one JSON object per line.

LOG_FORMAT=json is for log shippers (journald, Loki, Elasticsearch): each line
is an object with `ts` (ISO 8601, UTC), `level`, `logger`, `message`, and every
field the log call gave in `extra` — `message_id`, `feed`, `raw_id`, `peer`,
`source` — so one message can be followed from the SMTP accept through
processing to quarantine. In text mode the Message-ID stays in the message
text ("<id> held: …"), as before. Log calls never carry secrets or bodies.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a worker process logs without importing the settings (pydantic)
    from gateway.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What every LogRecord has; anything else on a record came from `extra`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}
_SKIP = frozenset({"color_message"})  # uvicorn's coloured copy of the message
_HEAD_SCAN = 64 * 1024
# Printable ASCII but <>: a Message-ID as sent, never a control character into a log line.
_MESSAGE_ID = re.compile(
    rb"^message-id:[ \t]*(?:\r?\n[ \t]+)?<?([!-;=?-~]{1,250})(?:>|[ \t]*\r?$)", re.IGNORECASE | re.MULTILINE
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record; ASCII-only, so a hostile header cannot break the line or the encoding."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in _SKIP and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str)


def setup_logging(settings: Settings) -> None:
    """Send every logger's records to stderr in LOG_FORMAT at LOG_LEVEL (once per process).

    Like `logging.basicConfig`, it leaves a root logger that has handlers
    already (pytest's) alone. In JSON mode warnings and uncaught exceptions
    become records too, so every line on stderr is an object.
    """
    configure_logging(settings.log_level, settings.log_format)


def configure_logging(level: str, fmt: str) -> None:
    """`setup_logging` from the two settings it reads (what a worker process is started with)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if fmt == "json":
        logging.captureWarnings(True)
        sys.excepthook = _log_uncaught
        threading.excepthook = lambda a: _log_uncaught(a.exc_type, a.exc_value, a.exc_traceback)  # type: ignore[arg-type]


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    logging.getLogger("gateway").critical("uncaught %s", kind.__name__, exc_info=(kind, exc, tb))


def header_message_id(data: bytes) -> str | None:
    """The Message-ID header as sent, for log lines written before the message is parsed.

    A cheap look at the header block only; the pipeline decides the real one
    (and makes one up when it is missing), so this is never stored.
    """
    head = data[:_HEAD_SCAN]
    ends = [i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0]
    found = _MESSAGE_ID.search(head, 0, min(ends) if ends else len(head))
    return found.group(1).decode("ascii") if found else None
