"""Step 3, parse: attachments as mail-parser lists them, named as their senders named them.

Names are read from each part's header as it came (charset labels as for
bodies, raw 8-bit bytes as UTF-8, else as undeclared text is) and made safe to offer
for download; files in parts their sender named nothing are kept too.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from email.message import Message

from mailparser.utils import decode_header_part, mime_header_view

from gateway.charsets import decode_bytes
from gateway.message import Attachment
from gateway.parse_headers import decoded, no_nul, read_header
from gateway.parse_raw import lenient_base64


def attachments(items: list[dict], msg: Message, charset: str | None = None) -> list[Attachment]:
    """`charset`: the codec raw 8-bit names that are no UTF-8 are read in (`parse_headers.message_charset`)."""
    names = _attachment_names(msg, charset) if items else {}
    if any(_GENERATED_NAME.match(str(item.get("filename") or "")) for item in items):
        # "newsletter.txt" has the shape of mail-parser's made-up names: a name a part really has stays
        names.update((name, name) for name in _given_names(msg) if _GENERATED_NAME.match(name) and name not in names)
    texts = any(item.get("mail_content_type") in ("text/plain", "text/html") for item in items)
    untyped = _untyped_names(msg) if texts else {}
    renditions = _named_renditions(msg) if texts else set()
    out = []
    for item in items:
        ctype = str(item.get("mail_content_type") or "")
        if ctype.startswith("multipart/"):
            continue  # a container marked "attachment": its parts are listed, not their joined source
        if ctype in ("text/plain", "text/html") and str(item.get("filename") or "") in renditions:
            continue  # the body's text or HTML rendering, named by its mailer: no file
        payload = item.get("payload") or ""
        if item.get("binary"):
            try:
                data = base64.b64decode(payload)
            except ValueError:  # a character past the last group of four, padding left out; or no base64
                try:
                    data = lenient_base64(payload)
                except ValueError:
                    data = payload.encode("utf-8", "replace")
        else:
            data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else payload
        disposition = (item.get("content-disposition") or "").lower()
        out.append(
            Attachment(
                filename=safe_filename(_attachment_name(item, names)),
                content_type=untyped.get(str(item.get("filename") or ""))
                or _media_type(str(item.get("mail_content_type") or "")),
                data=data,
                content_id=no_nul(str(item.get("content-id") or "")).strip().strip("<>"),
                inline=disposition.startswith("inline"),
            )
        )
    return out


def _media_type(value: str) -> str:
    """The type/subtype a part's Content-Type starts with; "application/octet-stream" for none.
    Without a ";" before its parameters ("application/pdf name=…") the whole value was the type."""
    found = _MEDIA_TYPE.match(value.strip().lower())
    return found.group() if found else "application/octet-stream"


_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


def _attachment_name(item: dict, names: dict[str, str]) -> str:
    """The name its sender gave the attachment; "attachment.pdf" for one they named nothing.

    mail-parser names a nameless attachment with ten random letters and ".txt",
    whatever its type, and a part with only a Content-ID by that id: the file name
    in the id ("image001.jpg@01DA…"), else "attachment" and the type's extension.
    """
    theirs = str(item.get("filename") or "")
    if theirs in names:
        return names[theirs]
    cid = str(item.get("content-id") or "")
    ctype = str(item.get("mail_content_type") or "")
    if theirs and theirs != cid and _GENERATED_NAME.match(theirs):
        return "attachment" + (mimetypes.guess_extension(ctype) or "")
    if theirs and theirs == cid:  # no name but the Content-ID: the file name in it, if it holds one
        local = theirs.strip().strip("<>").partition("@")[0]
        return local if _FILE_NAME.match(local) else "attachment" + (mimetypes.guess_extension(ctype) or "")
    return decoded(theirs)


def _untyped_names(msg: Message) -> dict[str, str]:
    """Named parts whose Content-Type names no type ("pdf; name=notes.pdf") → the type their name says.

    The email package reads such a part as text/plain, and the PDF was offered as a text file.
    """
    out = {}
    for part in msg.walk():
        value = part.get("content-type")
        if isinstance(value, str) and "/" not in value.partition(";")[0] and (name := part.get_filename()):
            guessed = mimetypes.guess_type(safe_filename(decoded(name)))[0]
            if guessed:
                out[name] = guessed
    return out


def _named_renditions(msg: Message) -> set[str]:
    """The names (as mail-parser reads them) of text/plain and text/html parts that are alternatives
    of a multipart/alternative, not marked "attachment": the body's renditions, which some mailers
    name ("plain.txt", a report's file name on the HTML), listed as files beside the body they are."""
    out: set[str] = set()
    for part in msg.walk():
        if part.get_content_type() != "multipart/alternative" or not isinstance(part.get_payload(), list):
            continue
        for child in part.get_payload():
            if (
                isinstance(child, Message)
                and child.get_content_type() in ("text/plain", "text/html")
                and child.get_content_disposition() != "attachment"  # marked so, it is shown as a file alone
            ):
                name = child.get_filename()
                if name:
                    out.update((name, decode_header_part(mime_header_view(child)[0].get_filename())))
    return out


def _given_names(msg: Message) -> set[str]:
    return {name for part in msg.walk() if (name := part.get_filename())}


_GENERATED_NAME = re.compile(r"^[a-z]{10}\.(?:txt|rtf)$")
# "image001.jpg" of a Content-ID "<image001.jpg@01DA…>"; "1ba8ecfe5e40…" has no file name in it
_FILE_NAME = re.compile(r"^[\w ()-][\w .()-]{0,100}\.[A-Za-z][A-Za-z0-9]{0,4}$")


def _attachment_names(msg: Message, charset: str | None) -> dict[str, str]:
    """Each named part's name as mail-parser reads it → as mailfeed reads it.

    mail-parser reads an RFC 2231 name in a charset Python does not know by that
    label as Latin-1, and raw 8-bit bytes as replacement characters; here names
    go through `charsets` as bodies do, and raw bytes are UTF-8, else `charset`, else read as undeclared text is.
    """
    names: dict[str, str] = {}
    for part in msg.walk():
        raw = {header: read_header(part, header, charset) for header in ("content-disposition", "content-type")}
        fields = "".join(raw.values())
        if "name" not in fields.lower() or (fields.isascii() and "=?" not in fields and "name*" not in fields.lower()):
            continue  # no name, or a plain one both read alike
        value = _name_param(raw)
        if value is not None:
            view, _ = mime_header_view(part)
            names.setdefault(decode_header_part(view.get_filename()), _param_text(value))
    return names


def _name_param(raw: dict[str, str]) -> str | tuple[str, str, str] | None:
    """The filename (or the older name) parameter, from a part's headers as `read_header` read them.

    The part's own get_param reads raw 8-bit bytes as replacement characters;
    a header-only copy of the header, its bytes read as `read_header` reads them, does not.
    """
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        if raw[header] and param in raw[header].lower():
            view = Message()
            view[header] = raw[header]
            values = [v for k, v in view.get_params([], header=header) if k == param]
            if values:
                # beside a plain name, the RFC 2231 one ("name*=", "name*0=") is the one a mailer wrote for
                # clients that read it, and the email package lists it last
                return values[-1] if f"{param}*" in raw[header].lower() else values[0]
    return None


def _param_text(value: str | tuple[str, str, str]) -> str:
    if isinstance(value, tuple):  # RFC 2231: (charset, language, the octets as Latin-1 characters)
        charset, _, text = value
        # raw 8-bit bytes beside the %-escapes were read as text already (read_header): their UTF-8
        octets = b"".join(ch.encode("latin-1" if ch <= "\xff" else "utf-8", "surrogateescape") for ch in text)
        return decode_bytes(octets, charset or None)
    return decoded(value)


# what a part carries about the message itself, not a file its sender attached
_NOT_FILES = frozenset(
    {
        "application/pgp-signature",
        "application/pgp-encrypted",
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/applefile",
    }
)


def unnamed_files(msg: Message) -> list[Attachment]:
    """Files in parts their sender named nothing and marked nothing, which mail-parser passes over.

    A scanner may send its PDF as "Content-Type: application/pdf" and no more:
    no file name, no Content-Disposition, no Content-ID; the entry showed no
    trace of it. Each becomes "attachment" plus its type's extension. So does a
    text part of another type than plain, HTML or a calendar (a vCard, a CSV)
    beside the body; one that is the body, or an alternative to it, is not. Parts
    inside an attached message are that message's (forwards read them); a
    multipart whose boundary never occurs is shown as text (parse_bodies).
    """
    out: list[Attachment] = []
    stack = [(msg, True)]  # (part, a text part there is a body or an alternative to one)
    while stack:
        part, body = stack.pop()
        ctype = part.get_content_type()
        if part.is_multipart():
            children = part.get_payload()
            if not ctype.startswith("message/") and part.get_content_disposition() != "attachment":
                alternative = ctype == "multipart/alternative"
                stack.extend(reversed([(c, alternative) for c in children if isinstance(c, Message)]))
            continue
        if ctype.startswith(("multipart/", "message/")) or ctype in _NOT_FILES or ctype in _TEXT_BODIES:
            continue
        if ctype.startswith("text/") and body:
            continue
        if part.get_filename() or part.get("content-id") or part.get_content_disposition() == "attachment":
            continue  # mail-parser lists it
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data:
            extension = mimetypes.guess_extension(ctype) or (".txt" if ctype.startswith("text/") else "")
            out.append(Attachment(_named_elsewhere(part) or "attachment" + extension, ctype, data))
    return out


def _named_elsewhere(part: Message) -> str:
    """A name where the email package does not look for one: a "filename" on the Content-Type
    ("application/pdf; filename=report.pdf"), or the file a Content-Location ends in."""
    value = part.get_param("filename")
    name = _param_text((value[0] or "", value[1] or "", value[2])) if isinstance(value, tuple) else value  # RFC 2231
    if isinstance(name, str) and name.strip():
        return safe_filename(decoded(name))
    location = str(part.get("content-location") or "").strip()
    last = location.split("?")[0].split("#")[0].rstrip("/").rpartition("/")[2]
    return last if _FILE_NAME.match(last) else ""


# text parts mail-parser reads as bodies, calendars, which parse_calendar lists as invite.ics, and
# the headers a delivery report returns
_TEXT_BODIES = frozenset({"text/plain", "text/html", "text/calendar", "text/rfc822-headers"})


def uufile(name: str, data: bytes) -> Attachment:
    safe = safe_filename(name)
    return Attachment(
        filename=safe, content_type=mimetypes.guess_type(safe)[0] or "application/octet-stream", data=data
    )


# controls (C0, DEL, C1), characters Windows forbids in names, and the bidi controls that make
# "invoice\u202efdp.exe" show as "invoiceexe.pdf" in a browser's download bar
_UNSAFE_NAME = re.compile('[\x00-\x1f\x7f-\x9f<>:"|?*\u061c\u200b-\u200f\u2060\u202a-\u202e\u2066-\u2069\ufeff]+')
MAX_FILENAME = 150


def safe_filename(name: str) -> str:
    """A file name safe to offer for download: no directories, controls, bidi overrides or leading dots,
    bounded length."""
    name = name.strip().strip("<>").strip('" ')  # a quote left open ("name=\"a; b.zip") is no part of it
    if "\\" in name or name.startswith("/") or "../" in name:
        name = name.replace("\\", "/").rpartition("/")[2]  # a path the sender's client put in: its file
    else:
        name = name.replace("/", "-")  # a name's own slash ("Rechnung 03/2024.pdf") is no directory
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_FILENAME - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:MAX_FILENAME]
    return name or "attachment"
