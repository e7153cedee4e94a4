"""The edges of an inline forward: the forwarder's note above it (without the marker line, the
rule Outlook draws, an Exchange rule's line, the forwarder's signature) and the end of the forwarded
body (mutt's end marker, RFC 934's dash-stuffing). `forward` finds the forward; this trims it.
"""

from __future__ import annotations

import re

from gateway import reply_closings as C
from gateway import reply_patterns as P
from gateway.forward_markers import is_forward_marker
from gateway.reply_signature import is_mobile


def without_marker(top: str) -> str:
    """The note above a forward without the marker line or the rule closing it.

    quotequail knows the English markers and cuts above them; under one it does
    not know ("Weitergeleitete Nachricht") it cuts at the header block below,
    and the marker would read as the forwarder's words. The line right above the
    header block, framed by dashes ("----- Forwarded message from Bo <…> -----",
    "-------- 転送メッセージ --------", "----- Forwarded by Ana/ACME on … -----"), is the
    marker whatever its words. An Exchange rule's "Auto forwarded by a Rule" goes too.
    """
    # the line an Exchange rule writes on what it forwards is no one's words
    lines = [line for line in top.rstrip().split("\n") if not _BY_A_RULE.match(line[: P.LINE_MAX_CHARS])]
    while lines and (not lines[-1].strip() or is_marker(lines[-1][: P.LINE_MAX_CHARS])):
        lines.pop()
    if lines and _FRAMED_LINE.match(lines[-1][: P.LINE_MAX_CHARS]):
        lines.pop()  # a marker in words mailfeed does not know, framed as markers are, right above the header
    if lines and C.SIG_SEPARATOR.match(lines[-1][: P.LINE_MAX_CHARS]):
        lines.pop()  # the rule Outlook draws above a forward's header block (an auto-forward's only "note")
    return "\n".join(lines).rstrip()


_FRAMED_LINE = re.compile(r"^\s*[-=_]{3,}\s*\S.{0,160}?\s*[-=_]{3,}\s*$")
# The line some clients close a forwarded message with (mutt, Gnus, rmail, nmh, Yandex): not the original's
_END_MARKER = re.compile(
    r"^\s*[-=_]{2,}\s*(?:end\s+(?:of\s+)?forwarded\s+message|ende\s+der\s+weitergeleiteten\s+nachricht|"
    r"конец\s+пересылаемого\s+сообщения|fin\s+du\s+message\s+(?:transféré|réexpédié))\s*[-=_]*\s*$",
    re.IGNORECASE,
)


def unsigned(note: str) -> str:
    """The note above a forward without the forwarder's "-- " signature, which himalaya writes
    above the forwarded message: it was shown as their note, or as all of it."""
    lines = note.split("\n")
    cut = next((i for i, line in enumerate(lines) if C.SIG_DELIMITER.match(line)), None)
    return note if cut is None else "\n".join(lines[:cut]).rstrip()


def without_app_line(note: str, kind: str) -> str:
    """The note above a forward marker (quotequail's `kind` "forward") without the line a phone's
    mail app ends it with ("Sent from my iPhone", which iOS Mail writes right above "Begin forwarded
    message:"), its link too: no words of the forwarder's. Above a reply's header ("On … wrote:"),
    read as a forward for its Fwd: subject, the top is kept whole, the reply it is."""
    if kind != "forward":
        return note
    lines = note.rstrip().split("\n")
    last = len(lines) - 1
    if last > 0 and C.BARE_LINK.match(lines[last][: P.LINE_MAX_CHARS]) and is_mobile(lines[last - 1]):
        last -= 1  # the app's link on a line of its own
    if is_mobile(lines[last]):
        lines = lines[:last]
    return "\n".join(lines).rstrip()


def unstuffed(text: str) -> str:
    """`text` without RFC 934's "- " before each line that starts with a dash, when it is written
    so (mblaze's forward: "- -- " for the original's signature line, "- - item" for its list)."""
    lines = text.split("\n")
    dashed = [line for line in lines if line.startswith("-")]
    if not any(line.startswith("- -") for line in dashed) or not all(line.startswith("- ") for line in dashed):
        return text
    return "\n".join(line[2:] if line.startswith("- ") else line for line in lines)


def at_end_marker(text: str) -> tuple[str, str]:
    """The forwarded text up to its last end marker, and the forwarder's words below it (their
    "-- " signature left out): mutt writes its "----- End forwarded message -----" above the
    forwarder's own signature, which was shown as the original's."""
    lines = text.rstrip().split("\n")
    end = next((i for i in range(len(lines) - 1, -1, -1) if _END_MARKER.match(lines[i][: P.LINE_MAX_CHARS])), None)
    if end is None:
        return "\n".join(lines).rstrip(), ""
    below = lines[end + 1 :]
    signature = next((i for i, line in enumerate(below) if C.SIG_DELIMITER.match(line)), len(below))
    return "\n".join(lines[:end]).rstrip(), "\n".join(below[:signature]).strip("\n")


def is_marker(line: str) -> bool:
    """A forward's marker, the "original message" line some webmails forward under
    ("----- Original Nachricht ----")."""
    return is_forward_marker(line) or bool(P.ORIGINAL_MESSAGE.match(line))


_BY_A_RULE = re.compile(r"^\s*Auto forwarded by a Rule\s*$", re.IGNORECASE)


def join(*parts: str) -> str:
    return "\n\n".join(p.strip("\n") for p in parts if p and p.strip())


def without_closing_marker(body: str) -> str:
    """The forwarded body without the marker line that closes its header block: Zoho writes
    "============ Forwarded message ============" above the header fields and again below them,
    and the second one opened the original's text. A marker with header fields under it is a
    forward inside this one and stays."""
    lines = body.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or not is_forward_marker(lines[first]):
        return body
    below = next((line for line in lines[first + 1 :] if line.strip()), "")[: P.LINE_MAX_CHARS]
    if P.FROM_FIELD.match(below) or P.OTHER_FIELD.match(below):
        return body
    return "\n".join(lines[first + 1 :]).strip("\n")


# the tags and blank space before the first words of an HTML body
_LEADING_MARKUP = r"\A(?:\s|&nbsp;|<[^>]{0,2000}>){0,200}"


def html_without_closing_marker(html: str, text: str) -> str:
    """`html` without the closing marker line `without_closing_marker` takes from its `text` rendering."""
    first = text.strip().split("\n", 1)[0].strip()
    if not first or without_closing_marker(text) == text:
        return html
    found = re.search(_LEADING_MARKUP + "(" + re.escape(first).replace(r"\ ", r"(?:\s|&nbsp;)") + ")", html)
    if found is None:
        return html
    return html[: found.start(1)] + html[found.end(1) :]
