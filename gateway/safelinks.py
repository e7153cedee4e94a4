"""Links a mail gateway rewrote, shown as the address their author wrote.

Microsoft Defender for Office 365 rewrites every link in mail its tenants receive
into https://<region>.safelinks.protection.outlook.com/?url=<the link>&data=…, so a
message forwarded from such a tenant carries them: its text reads as long opaque
URLs, the reader cannot see where a link goes, and each click reports to the
forwarder's tenant. The link's own address is in the `url` parameter.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

HOST_SUFFIX = ".safelinks.protection.outlook.com"
# in running text the URL ends before a closing parenthesis or the sentence's punctuation
_IN_TEXT = re.compile(
    r"https?://[a-z0-9-]{1,63}\.safelinks\.protection\.outlook\.com/?\?[^\s<>\"'()]{1,8000}(?<![.,;:!?])", re.I
)
_SHOWN_SCHEMES = ("http://", "https://", "mailto:")


def real_url(url: str) -> str:
    """The address a Safe Links URL stands for; any other URL as it is."""
    for _ in range(2):  # a forward of a forward between two such tenants wraps it twice
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return url
        if not (parts.hostname or "").lower().endswith(HOST_SUFFIX):
            return url
        target = parse_qs(parts.query).get("url", [""])[0].strip()
        if not target.lower().startswith(_SHOWN_SCHEMES):
            return url
        url = target
    return url


def in_text(text: str) -> str:
    """`text` with each Safe Links URL replaced by the address it stands for."""
    if "safelinks.protection.outlook.com" not in text:
        return text
    return _IN_TEXT.sub(lambda m: real_url(m.group(0)), text)
