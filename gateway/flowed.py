"""Plain text sent as format=flowed (RFC 3676), joined back into its paragraphs.

Thunderbird, Apple Mail and K-9 send plain text in lines of at most 78
characters, each line of a paragraph but its last ending in a space ("soft"
breaks). Shown as sent, every paragraph breaks where the sender's client
wrapped it: mid-sentence on a wide page, ragged on a phone. Decoding joins
each paragraph into one line, at its quote depth, so the page, the digest and
the feeds wrap it where the reader's screen does.

Pure; a loop over lines, no recursion.
"""

from __future__ import annotations

from email.message import Message

SIGNATURE_SEPARATOR = "-- "  # never flowed, though it ends in a space


def flowed_parts(msg: Message, passed_over: frozenset[int] | set[int] = frozenset()) -> tuple[bool, bool] | None:
    """(flowed, delsp) shared by every text/plain body part of `msg` but those whose ids are
    `passed_over`; None when they differ."""
    found: set[tuple[bool, bool]] = set()
    for part in msg.walk():
        if part.get_content_type() != "text/plain" or part.get_content_disposition() == "attachment":
            continue
        if id(part) in passed_over:
            continue
        flowed = str(part.get_param("format") or "").lower() == "flowed"
        delsp = str(part.get_param("delsp") or "").lower() == "yes"
        found.add((flowed, flowed and delsp))
    return found.pop() if len(found) == 1 else None


def unflowed(text: str, *, delsp: bool) -> str:
    """`text` with its soft line breaks removed (RFC 3676 §4.2); quoted lines keep their depth.

    A line ending in a space continues on the next line of the same quote depth;
    with `delsp`, that space was added by the sender's client and goes. A change
    of depth ends the paragraph, as the RFC says of improperly flowed text. Each
    paragraph keeps the quote marks its first line was written with (">" or "> ").
    """
    out: list[str] = []
    depth = -1  # of the paragraph being joined; -1: none open
    prefix = ""
    pieces: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        marks = len(line) - len(line.lstrip(">"))
        stuffed = line[marks : marks + 1] == " "  # space-stuffed (RFC 3676 §4.4)
        body = line[marks + stuffed :]
        if pieces and (marks != depth or body == SIGNATURE_SEPARATOR):
            # a "-- " line is never joined to the flowed line above it: it starts the signature (§4.3)
            out.append(prefix + "".join(pieces))
            pieces = []
        if not pieces:
            depth, prefix = marks, line[: marks + stuffed] if marks else ""
        flowed = body.endswith(" ") and body != SIGNATURE_SEPARATOR
        pieces.append(body[:-1] if flowed and delsp else body)
        if not flowed:
            out.append(prefix + "".join(pieces))
            pieces = []
    if pieces:
        out.append(prefix + "".join(pieces))
    return "\n".join(out)
