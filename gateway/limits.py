"""Limits on what one message and one sender may cost, checked before the raw bytes are stored.

Pure except `RateLimiter`, which keeps per-sender and per-client buckets in this
process (each instance limits what reaches it; N instances allow N times the
rate, which the MTA in front spreads anyway). The structure scan reads the raw
bytes once, line by line, without parsing: a message built to exhaust the
parser is refused before it reaches it.
"""

from __future__ import annotations

import heapq
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from gateway.config import Settings

# on the lower-cased message after a "\n": a boundary parameter, an attachment disposition.
# Line starts are matched as "\n" + literal, not "^" in MULTILINE mode: a pattern that
# opens with a literal is searched for at C speed, one with "^" is tried at every byte.
_PARAM = re.compile(rb'boundary[ \t]*=[ \t]*(?:"([^"\r\n]{1,200})"|([^\s";]{1,200}))')
_MIME_FIELD = re.compile(rb"\ncontent-(?:type|disposition):")
_DASHES = re.compile(rb"\n--([^\r\n]*)\r?$", re.MULTILINE)


@dataclass(frozen=True)
class Limits:
    max_headers: int = 1000
    max_header_bytes: int = 256 * 1024
    max_mime_parts: int = 500
    max_mime_depth: int = 20
    max_attachments: int = 100
    # A Content-Type or Content-Disposition field longer than this is refused: the email package
    # splits its parameters in quadratic time, so one field of a few megabytes of ";" inside
    # quotes (in any part, where MAX_HEADER_BYTES does not reach) held a worker for hours.
    max_mime_field: int = 16 * 1024


def limits_of(settings: Settings) -> Limits:
    return Limits(
        settings.max_headers,
        settings.max_header_bytes,
        settings.max_mime_parts,
        settings.max_mime_depth,
        settings.max_attachments,
    )


@dataclass(frozen=True)
class Breach:
    """Which limit a message breaks: the SMTP reply says it."""

    reply: str


def check_structure(data: bytes, limits: Limits) -> Breach | None:
    """The first limit `data` breaks, or None."""
    head, _, _ = (
        data.partition(b"\r\n\r\n") if b"\r\n\r\n" in data[: limits.max_header_bytes + 4] else data.partition(b"\n\n")
    )
    if len(head) > limits.max_header_bytes:
        return Breach(f"552 5.3.4 Header block too large ({len(head)} bytes, at most {limits.max_header_bytes})")
    headers = sum(1 for line in head.splitlines() if line and line[:1] not in (b" ", b"\t"))
    if headers > limits.max_headers:
        return Breach(f"554 5.6.0 Too many header fields ({headers}, at most {limits.max_headers})")
    return _scan_mime(data, limits)


def _scan_mime(data: bytes, limits: Limits) -> Breach | None:
    """Count parts, nesting and attachments from the lines that matter.

    Three literal-led regex scans over a lower-cased copy (boundaries compare
    case-insensitively here, which only makes counting stricter), merged in
    order of position: C-speed on megabytes of junk, no parse. The scan for
    Content-Type and Content-Disposition fields also bounds their length.
    """
    low = b"\n" + data.lower()
    opened = list(_events(_PARAM, low, 1))  # boundaries as they are declared: one scan serves both uses
    declared = {value for _, _, value in opened}
    if len(declared) > limits.max_mime_parts:
        return Breach(f"554 5.6.0 Too many MIME parts (more than {limits.max_mime_parts})")
    attached = []
    for m in _MIME_FIELD.finditer(low):
        end = _field_end(low, m.start(), limits.max_mime_field)
        if end - m.start() > limits.max_mime_field:
            return Breach(f"554 5.6.0 MIME header field too long (more than {limits.max_mime_field} bytes)")
        value = low[m.end() : end].lstrip(b" \t")
        if low[m.end() - 12 : m.end()] == b"disposition:" and value.startswith(b"attachment"):
            attached.append((m.start(), 2, b""))
    streams = [iter(opened), iter(attached)]
    if declared:  # only lines that open or close a declared boundary are markers
        streams.append(_markers(low, declared))
    stack: list[bytes] = []
    depth = parts = attachments = 0
    for _, kind, value in heapq.merge(*streams):
        if kind == 0 and stack:
            closing = value.endswith(b"--")
            name = value[:-2] if closing else value
            if name in stack:
                del stack[stack.index(name) + (0 if closing else 1) :]
                if not closing:
                    parts += 1
                    if parts > limits.max_mime_parts:
                        return Breach(f"554 5.6.0 Too many MIME parts (more than {limits.max_mime_parts})")
        elif kind == 1:
            stack.append(value)
            depth = max(depth, len(stack))
            if depth > limits.max_mime_depth:
                return Breach(f"554 5.6.0 MIME nesting too deep (more than {limits.max_mime_depth} levels)")
        elif kind == 2:
            attachments += 1
            if attachments > limits.max_attachments:
                return Breach(f"554 5.6.0 Too many attachments (more than {limits.max_attachments})")
    return None


def _field_end(data: bytes, start: int, most: int) -> int:
    """Where the header field at `start` ends (folded lines included), or a point past `most` bytes."""
    end = data.find(b"\n", start + 1)
    while end != -1 and end - start <= most and data[end + 1 : end + 2] in (b" ", b"\t"):
        end = data.find(b"\n", end + 1)
    return len(data) if end == -1 else end


def _markers(data: bytes, declared: set[bytes]) -> Iterator[tuple[int, int, bytes]]:
    """Lines `--name` or `--name--` for a declared boundary name, as events of kind 0.

    One fixed pattern for every "--" line, checked against the names here:
    a pattern built from each message's own boundaries was compiled anew for
    every message (about 6% of an import's main process).
    """
    for m in _DASHES.finditer(data):
        line = m.group(1).rstrip(b" \t")
        if line in declared or (line.endswith(b"--") and line[:-2] in declared):
            yield m.start(), 0, line


def _events(pattern: re.Pattern[bytes], data: bytes, kind: int) -> Iterator[tuple[int, int, bytes]]:
    for m in pattern.finditer(data):
        value = next((g for g in m.groups() if g is not None), b"")
        yield m.start(), kind, value.rstrip()


class RateLimiter:
    """Token buckets: at most `per_minute` messages per key, refilled continuously."""

    MAX_KEYS = 100_000

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: float | None = None, *, take: bool = True) -> bool:
        """Whether `key` may send one more message now; `take` counts it (without, only asks)."""
        if self.per_minute <= 0:
            return True
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * self.per_minute / 60)
            allowed = tokens >= 1
            self._buckets[key] = (tokens - 1 if allowed and take else tokens, now)
            if len(self._buckets) > self.MAX_KEYS:  # forget the longest idle, bounding memory
                for old in sorted(self._buckets, key=lambda k: self._buckets[k][1])[: self.MAX_KEYS // 10]:
                    del self._buckets[old]
            return allowed
