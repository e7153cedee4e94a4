"""Step 3, parse: pictures an HTML body carries inside itself, made files like any other.

A picture pasted into a message can travel as a `data:` URL in the `<img>` itself
(Outlook on the web, Superhuman, HEY and many mailers do this) rather than as a MIME
part. The sanitizer lets no `data:` URL through, so such a picture was lost to the
reader. Here each one becomes an inline attachment, stored like any other, and its
`<img>` points at it by a Content-ID made from its bytes (so reprocessing gives the
same): what `cid:` images get, the stored file, its download, its size cap.
Raster types only (PNG, JPEG, GIF, WebP), typed by how their bytes start; an SVG can
carry script and stays out.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import re

from gateway.message import Attachment
from gateway.parse_raw import lenient_base64
from gateway.reply_tokens import source, tokenize

__all__ = ["data_images"]

_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}
_DATA_IMAGE = re.compile(r"^\s*data:image/(?:png|jpe?g|gif|webp)\s*;\s*base64\s*,(.*)$", re.IGNORECASE | re.DOTALL)
_KEPT = ("alt", "title", "width", "height")
_PICTURE_NAME = re.compile(r"^[\w() -][\w .()-]{0,100}\.(?:png|jpe?g|gif|webp)$", re.IGNORECASE)


def data_images(html: str) -> tuple[str, list[Attachment]]:
    """`html` with each `data:` raster image pointed at a `cid:`, and the files they are.

    An image that is no base64 of an allowed picture is left as it was (the sanitizer then
    shows "[image]"). The same picture twice is one file, named as its alt text names a picture
    file ("label-draft.png"), else "image-1.png".
    """
    if "data:image" not in html.lower():
        return html, []
    out: list[str] = []
    files: dict[str, Attachment] = {}
    for tok in tokenize(html):
        found = _DATA_IMAGE.match(tok.attr("src")) if tok.kind == "start" and tok.tag == "img" else None
        data = _decoded(found.group(1)) if found else None
        ctype = _picture_type(data) if data else None
        if ctype is None or data is None:
            out.append(source(tok))
            continue
        cid = hashlib.sha256(data).hexdigest()[:24] + "@data-url"
        if cid not in files:
            named = _PICTURE_NAME.match(tok.attr("alt").strip())  # Gmail and Outlook give the pasted file's name
            name = named.group() if named else f"image-{len(files) + 1}{_EXTENSIONS[ctype]}"
            files[cid] = Attachment(name, ctype, data, cid, inline=True)
        kept = "".join(f' {name}="{htmllib.escape(tok.attr(name))}"' for name in _KEPT if tok.attr(name))
        out.append(f'<img src="cid:{cid}"{kept}>')
    return "".join(out), list(files.values())


def _decoded(text: str) -> bytes | None:
    try:
        return lenient_base64(text)
    except ValueError:  # no base64 (binascii.Error is one too)
        return None


def _picture_type(data: bytes) -> str | None:
    """PNG, JPEG, GIF or WebP, by how the bytes start (served as that type, `nosniff`); None for others."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    return "image/webp" if data[:4] == b"RIFF" and data[8:12] == b"WEBP" else None
