"""The bytes after SMTP DATA, read in a few large reads rather than line by line.

aiosmtpd reads DATA one line at a time (a `readuntil` and a list append per
line): a fifth of the SMTP event loop's time on 4 KB mail. The end of the
message is the first CRLF "." CRLF after the DATA command's own CRLF, and
every line boundary is a CRLF, so the message can be read up to each ".\\r\\n"
and checked. The result is what aiosmtpd's loop gives, byte for byte
(tests/ingest/test_smtp_data.py compares the two on generated input).
"""

from __future__ import annotations

import asyncio

END = b"\r\n.\r\n"
_TAIL = len(END) - 1  # bytes kept while dropping an oversized message, to see its end


async def read_data(reader: asyncio.StreamReader, size_limit: int | None) -> bytes | None:
    """The message up to its lone-dot line, dot-unstuffed (RFC 5321 4.5.2).

    None when it was longer than `size_limit` bytes as sent (aiosmtpd's count:
    every line, stuffed, with its CRLF, not the final dot line); its bytes are
    read to the end and dropped, so the session can go on.
    """
    buf = bytearray(b"\r\n")  # the DATA command's line end: the very first line may be the dot
    total = 0  # bytes read
    too_big = False
    while not buf.endswith(END):
        try:
            part = await reader.readuntil(b".\r\n")
        except asyncio.LimitOverrunError as exc:  # no end within the reader's limit: take what is there
            part = await reader.read(exc.consumed)
        total += len(part)
        if too_big:
            buf = buf[-_TAIL:] + part
        else:
            buf += part
            if size_limit and total - 3 > size_limit:  # the final ".\r\n" never counts
                too_big = True
    if too_big or (size_limit and total - 3 > size_limit):
        return None
    # Each line boundary is a CRLF: a line that starts with a dot follows one.
    return bytes(buf[:-3]).replace(b"\r\n.", b"\r\n")[2:]
